"""The provider interface: `send(to, text, sender_id) -> SendResult`.

A provider adapter turns whatever its transport does (an HTTP reply, a
timeout, an exception) into one of four outcomes, so the send job never
looks at provider details:

- ACCEPTED: the provider took the message (it is not delivered yet);
  `message_id` is the provider's id, matched later by delivery reports.
- RETRY: transient, nothing suggests the message went out (or we cannot
  know, as after a timeout): try again later with backoff.
- FAILED: permanent for this message (bad number, blacklisted, rejected):
  retrying would fail the same way.
- HOLD: the account cannot send at all until someone acts (Africa's
  Talking 405 InsufficientBalance: top up; HTTP 401/403: the API key is
  wrong or being rotated). The message waits, and so does every other one,
  instead of burning their retries or failing.
- UNKNOWN: the request went out and no answer came back in time (a read
  timeout): the provider may have sent it, and there is no idempotency key.
  The send job resends it only for kinds marked at-least-once
  (`gateway.sms.guarantees`); the others wait for a delivery report.

`outage(result)` tells the transient failures that say the provider itself
is unwell (5xx, 429, no connection, no answer): the circuit
(`gateway.sms.circuit`) counts those.

`reason` is a short code kept in `Message.failure_reason` ("InvalidPhoneNumber",
"http_503", "timeout"); `detail` is the longer text kept in `Message.error`.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"
    HOLD = "hold"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendResult:
    """What became of one send."""

    outcome: Outcome
    message_id: str | None = None
    cost: str | None = None
    status_code: int | None = None
    reason: str | None = None
    detail: str | None = None

    @classmethod
    def accepted(cls, message_id: str | None, cost: str | None = None,
                 status_code: int | None = None) -> SendResult:
        return cls(Outcome.ACCEPTED, message_id=message_id, cost=cost, status_code=status_code)

    @classmethod
    def retry(cls, reason: str, detail: str | None = None, status_code: int | None = None) -> SendResult:
        return cls(Outcome.RETRY, status_code=status_code, reason=reason, detail=detail or reason)

    @classmethod
    def failed(cls, reason: str, detail: str | None = None, status_code: int | None = None) -> SendResult:
        return cls(Outcome.FAILED, status_code=status_code, reason=reason, detail=detail or reason)

    @classmethod
    def unknown(cls, reason: str, detail: str | None = None) -> SendResult:
        return cls(Outcome.UNKNOWN, reason=reason, detail=detail or reason)

    @classmethod
    def hold(cls, reason: str, detail: str | None = None, status_code: int | None = None) -> SendResult:
        return cls(Outcome.HOLD, status_code=status_code, reason=reason, detail=detail or reason)


class Provider(Protocol):
    """Sends one SMS. Implementations must be thread-safe (the send job calls
    `send` from several threads at once) and must never raise for a
    provider-side problem: every failure is a SendResult."""

    name: str

    def send(self, to: str, text: str, sender_id: str | None) -> SendResult: ...


# --- Africa's Talking's codes, as a table (see docs/africastalking.md) -----------------

ACCEPTED_CODES = frozenset({100, 101, 102})  # Processed, Sent, Queued
HOLD_CODES = frozenset({405})  # InsufficientBalance: clears after a top-up
RETRY_CODES = frozenset({500, 501})  # InternalServerError, GatewayError
# HTTP 401/403 on the whole request: the key (or username) is refused. A
# rotation revokes the old key before the new one is deployed; that must
# not fail messages, only hold them.
CREDENTIAL_HTTP = frozenset({401, 403})
# Transport reasons (set by the adapters) that mean the provider is unreachable.
OUTAGE_REASONS = frozenset({"connect_timeout", "connection_error", "timeout", "http_error",
                            "InternalServerError", "GatewayError"})
# 401 RiskHold, 402 InvalidSenderId, 403 InvalidPhoneNumber, 404 UnsupportedNumberType,
# 406 UserInBlacklist, 407 CouldNotRoute, 409 DoNotDisturbRejection, 502 RejectedByGateway.
FAILED_CODES = frozenset({401, 402, 403, 404, 406, 407, 409, 502})


def classify_recipient(status_code: int, status: str | None, message_id: str | None,
                       cost: str | None) -> SendResult:
    """One recipient entry of a 2xx send reply."""
    label = (status or "").strip() or f"status_{status_code}"
    detail = f"recipient status {status_code} {label}"
    if status_code in ACCEPTED_CODES:
        if not message_id or message_id == "None":
            # Accepted without an id: delivery reports cannot be matched, but
            # the message went out; resending would duplicate it.
            return SendResult.accepted(None, cost, status_code)
        return SendResult.accepted(message_id, cost, status_code)
    if status_code in HOLD_CODES:
        return SendResult.hold(label, detail, status_code)
    if status_code in RETRY_CODES:
        return SendResult.retry(label, detail, status_code)
    # FAILED_CODES, any other 4xx, and codes we do not know: permanent. An
    # unknown code is not retried, so a message is never sent twice on a guess.
    return SendResult.failed(label, detail, status_code)


def classify_http(status_code: int | None, body: str) -> SendResult:
    """A non-2xx reply (`status_code` None: the code is unknown)."""
    snippet = " ".join(body.split())[:200]
    if status_code is None:
        return SendResult.retry("http_error", f"HTTP error: {snippet}")
    detail = f"HTTP {status_code}: {snippet}" if snippet else f"HTTP {status_code}"
    if status_code == 429 or status_code >= 500:
        return SendResult.retry(f"http_{status_code}", detail, status_code)
    if status_code in CREDENTIAL_HTTP:
        return SendResult.hold(f"http_{status_code}", f"credentials refused: {detail}", status_code)
    # Every other 4xx: the request itself is wrong.
    return SendResult.failed(f"http_{status_code}", detail, status_code)


def is_credential_hold(reason: str | None) -> bool:
    """True for a hold the API key caused (cleared when a worker starts with new settings)."""
    return reason in {f"http_{code}" for code in CREDENTIAL_HTTP}


def outage(result: SendResult) -> bool:
    """True when `result` says the provider is down or overloaded, not that
    this message is wrong: what the circuit counts."""
    if result.outcome not in (Outcome.RETRY, Outcome.UNKNOWN):
        return False
    reason = result.reason or ""
    return reason in OUTAGE_REASONS or reason == "http_429" or (
        reason.startswith("http_5") and reason[5:].isdigit())


def classify_whole_request(message: str) -> SendResult:
    """A 2xx reply with no recipients: the whole request failed (e.g.
    `{"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}`)."""
    text = " ".join(str(message).split())[:200] or "no recipients in the reply"
    if "insufficientbalance" in text.replace(" ", "").lower():
        return SendResult.hold("InsufficientBalance", f"request refused: {text}")
    reason = text if re.fullmatch(r"[A-Za-z_]{1,64}", text) else "request_rejected"
    return SendResult.failed(reason, f"request refused: {text}")
