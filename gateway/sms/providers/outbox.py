"""The local outbox: no provider configured, nothing leaves the machine.

The message row itself is the outbox: the send job marks it sent with
provider "outbox" (and id `outbox-<message id>`), and `gateway sms outbox`
or the operator console lists it.
"""
from __future__ import annotations

from gateway.sms.providers.base import SendResult

NAME = "outbox"


class OutboxProvider:
    """Accepts everything at once; thread-safe (it keeps nothing)."""

    name = NAME

    def send(self, to: str, text: str, sender_id: str | None) -> SendResult:
        # No id of its own: the job names it after the message row.
        return SendResult.accepted(None, None, None)
