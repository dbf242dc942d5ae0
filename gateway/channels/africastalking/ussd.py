"""The provider's USSD callback: `POST /at/ussd`.

Provider fields are validated strictly (`parsers.parse_ussd_hop`; a malformed
one is a 400 naming it); anything a user can type is the engine's business
and always gets a `CON`/`END` reply, never a 500.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from gateway.channels.africastalking.parsers import parse_ussd_hop
from gateway.ussd.hop import SORRY

log = logging.getLogger(__name__)
bp = Blueprint("ussd", __name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.post("/at/ussd")
def callback() -> Response:
    hop = parse_ussd_hop(request.form)
    if isinstance(hop, str):
        log.info("ussd callback refused: %s", hop)
        return _plain(f"bad request: {hop}", 400)
    body, _ = answer(current_app.extensions["isoko"].hops, hop)
    return _plain(body)


def answer(service, hop) -> tuple[str, bool]:
    """The reply to a valid hop from `service` (within USSD_HOP_BUDGET_SECONDS),
    and whether the service answered it (False: it raised, and the reply is
    the polite END). Never raises: the network never gets a 500."""
    try:
        return service.answer(hop), True
    except Exception:
        # Redis down or the like: still a valid USSD reply, never a 500.
        log.exception("ussd callback failed before the hop could be answered")
        return "END " + SORRY["en"], False
