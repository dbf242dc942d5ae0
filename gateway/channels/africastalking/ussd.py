"""The provider's USSD callback: `POST /at/ussd`.

Provider fields are validated strictly (a malformed one is a 400 naming it);
anything a user can type is the engine's business and always gets a
`CON`/`END` reply, never a 500.
"""
from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, request

from gateway.core.phones import InvalidPhone, normalize
from gateway.ussd.hop import SORRY, Hop

log = logging.getLogger(__name__)
bp = Blueprint("ussd", __name__)

_SESSION_ID_MAX = 128
_SERVICE_CODE = re.compile(r"^[*#0-9]{2,40}$")
_NETWORK = re.compile(r"^[0-9]{3,6}$")
MAX_TEXT = 1000


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def parse(form) -> tuple[Hop | None, str | None]:
    """A Hop from the callback's form, or the reason it is malformed."""
    problems = []
    session_id = form.get("sessionId")
    if not session_id or len(session_id) > _SESSION_ID_MAX or not session_id.isprintable():
        problems.append("sessionId missing or malformed")
    service_code = form.get("serviceCode")
    if service_code is None or not _SERVICE_CODE.match(service_code):
        problems.append("serviceCode missing or malformed")
    network = form.get("networkCode", "")
    if network and not _NETWORK.match(network):
        problems.append("networkCode malformed")
    text = form.get("text")
    if text is None:
        problems.append("text missing")
    elif len(text) > MAX_TEXT:
        problems.append("text too long")
    phone = None
    try:
        phone = normalize(form.get("phoneNumber") or "")
    except InvalidPhone:
        problems.append("phoneNumber missing or not a valid number")
    if problems:
        return None, "; ".join(problems)
    return Hop(session_id, phone, network, service_code, text), None


@bp.post("/at/ussd")
def callback() -> Response:
    hop, problem = parse(request.form)
    if hop is None:
        log.info("ussd callback refused: %s", problem)
        return _plain(f"bad request: {problem}", 400)
    service = current_app.extensions["isoko"].ussd
    try:
        body = service.answer(hop)
    except Exception:
        # Redis down or the like: still a valid USSD reply, never a 500.
        log.exception("ussd callback failed before the hop could be answered")
        body = "END " + SORRY["en"]
    return _plain(body)
