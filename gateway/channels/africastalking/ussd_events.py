"""The provider's end-of-session notification: `POST /at/ussd/events`.

Only the key fields (sessionId, status) are checked strictly: without them
the notification is a 400 naming them. The others are read leniently
(`parsers.parse_ussd_event`): one that cannot be read is left out and the
whole form kept in the row's `raw`. The notification is stored by `gateway.ussd.events` (one
upsert per session, with the screen the user last saw); the reply is a plain
200 "ok", fast.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from gateway.channels.africastalking.parsers import parse_ussd_event
from gateway.ussd import events

log = logging.getLogger(__name__)
bp = Blueprint("ussd_events", __name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.post("/at/ussd/events")
def session_ended() -> Response:
    ended = parse_ussd_event(request.form)
    if isinstance(ended, str):
        log.info("ussd event refused: %s", ended)
        return _plain(f"bad request: {ended}", 400)
    services = current_app.extensions["isoko"]
    screen = events.last_screen(services.redis, ended.session_id)
    with services.db.session() as s:
        events.record(s, ended, last_screen=screen)
    return _plain("ok")
