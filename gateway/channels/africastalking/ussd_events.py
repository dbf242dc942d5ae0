"""The provider's end-of-session notification: `POST /at/ussd/events`.

At-least-once: every notification upserts the `UssdSessionLog` row of its
`sessionId` in one statement, so a repeat updates, never duplicates. The
screen the user last saw comes from the session's Redis record while it is
still there (one GET); a repeat arriving after the record expired keeps the
screen the first one stored. Fields are validated strictly: a malformed one is
a 400 naming it. The reply is a plain 200 "ok", fast.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

import redis
from flask import Blueprint, Response, current_app, request
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite

from gateway.ussd.models import UssdSessionLog
from gateway.core.models import utcnow
from gateway.core.phones import InvalidPhone, mask, normalize
from gateway.ussd.sessions import PREFIX, Record

log = logging.getLogger(__name__)
bp = Blueprint("ussd_events", __name__)

KNOWN_STATUSES = frozenset({"Incomplete", "Success", "Failed"})
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
TEXT_MAX = 10_000  # input / lastAppResponse / errorMessage
_SESSION_ID_MAX = 128
_STATUS = re.compile(r"^[A-Za-z]{1,16}$")
_SERVICE_CODE = re.compile(r"^[*#0-9]{2,40}$")
_NETWORK = re.compile(r"^[0-9]{3,8}$")
_COUNT = re.compile(r"^[0-9]{1,9}$")
_COST_MAX = 32
_SCREEN_MAX = 64


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _optional(form, name: str) -> str | None:
    value = form.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def parse(form) -> tuple[dict | None, str | None]:
    """The row's values from the notification's form, or why it is malformed."""
    problems: list[str] = []
    values: dict = {}

    session_id = form.get("sessionId")
    if not session_id or len(session_id) > _SESSION_ID_MAX or not session_id.isprintable():
        problems.append("sessionId missing or malformed")
    values["session_id"] = session_id

    status = form.get("status")
    if status is None or not _STATUS.match(status):
        problems.append("status missing or malformed")
    values["status"] = status

    date = _optional(form, "date")
    values["date"] = None
    if date is not None:
        try:
            values["date"] = datetime.strptime(date, DATE_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            problems.append("date is not yyyy-MM-dd HH:mm:ss")

    phone = _optional(form, "phoneNumber")
    values["phone"] = None
    if phone is not None:
        try:
            values["phone"] = normalize(phone)
        except InvalidPhone:
            problems.append("phoneNumber is not a valid number")

    for field, column, pattern, what in (
        ("serviceCode", "service_code", _SERVICE_CODE, "serviceCode malformed"),
        ("networkCode", "network_code", _NETWORK, "networkCode malformed"),
    ):
        value = _optional(form, field)
        if value is not None and not pattern.match(value):
            problems.append(what)
        values[column] = value

    for field, column in (("durationInMillis", "duration_ms"), ("hopsCount", "hops")):
        value = _optional(form, field)
        if value is not None and not _COUNT.match(value):
            problems.append(f"{field} is not a whole number")
            value = None
        values[column] = int(value) if value is not None else None

    cost = _optional(form, "cost")
    if cost is not None and (len(cost) > _COST_MAX or not cost.isprintable()):
        problems.append("cost malformed")
    values["cost"] = cost

    for field, column in (("input", "input"), ("lastAppResponse", "last_reply"),
                          ("errorMessage", "error")):
        value = form.get(field)
        if value is not None and len(value) > TEXT_MAX:
            problems.append(f"{field} too long")
        values[column] = value if value else None

    if problems:
        return None, "; ".join(problems)
    return values, None


def last_screen(client: redis.Redis, session_id: str) -> str | None:
    """The current screen id in the session's Redis record, if it is still there.
    One GET; any trouble (Redis down, an unreadable record) gives None."""
    try:
        record = Record.loads(client.get(f"{PREFIX}:s:{session_id}"))
    except redis.RedisError as exc:
        log.warning("ussd event: session record unreadable (%s)", exc.__class__.__name__)
        return None
    except (ValueError, TypeError):
        return None
    screen = (record.state or {}).get("scr") if record is not None else None
    return str(screen)[:_SCREEN_MAX] if screen is not None else None


# The two backends Isoko runs on; both have INSERT ... ON CONFLICT DO UPDATE.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _upsert(session, values: dict) -> None:
    """Insert, or update the row of the same session, in one statement."""
    insert = _INSERTS[session.get_bind().dialect.name]
    statement = insert(UssdSessionLog).values(**values)
    excluded = statement.excluded
    updates = {name: excluded[name] for name in values if name not in ("session_id", "last_screen")}
    # A repeat after the Redis record expired must not erase the screen.
    updates["last_screen"] = func.coalesce(excluded.last_screen, UssdSessionLog.last_screen)
    session.execute(statement.on_conflict_do_update(index_elements=["session_id"], set_=updates))


@bp.post("/at/ussd/events")
def session_ended() -> Response:
    values, problem = parse(request.form)
    if values is None:
        log.info("ussd event refused: %s", problem)
        return _plain(f"bad request: {problem}", 400)
    if values["status"] not in KNOWN_STATUSES:
        log.warning("ussd event with an unknown status %r (stored as is)", values["status"])
    services = current_app.extensions["isoko"]
    values["last_screen"] = last_screen(services.redis, values["session_id"])
    values["received_at"] = utcnow()
    with services.db.session() as s:
        _upsert(s, values)
    log.info("ussd session ended: status=%s phone=%s hops=%s screen=%s", values["status"],
             mask(values["phone"]) if values["phone"] else "-", values["hops"],
             values["last_screen"])
    return _plain("ok")
