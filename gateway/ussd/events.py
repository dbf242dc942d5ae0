"""The end of a USSD session, as the provider reports it: one log row per session.

The provider's notification is at-least-once: `record` upserts the
`UssdSessionLog` row of its session in one statement, so a repeat updates,
never duplicates. The screen the user last saw comes from the session's
Redis record while it is still there (`last_screen`, one GET); a repeat
arriving after the record expired keeps the screen the first one stored.

No HTTP here: the channel parses the provider's form into a `SessionEnded`.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

import redis
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.core.phones import mask
from gateway.ussd.models import UssdSessionLog
from gateway.ussd.sessions import PREFIX, Record

log = logging.getLogger(__name__)

# The statuses the provider documents; any other word is stored as sent.
KNOWN_STATUSES = frozenset({"Incomplete", "Success", "Failed"})
SCREEN_MAX = 64  # UssdSessionLog.last_screen


@dataclass(frozen=True)
class SessionEnded:
    """A validated end-of-session notification; fields are the log row's columns."""

    session_id: str
    status: str
    date: datetime | None = None
    phone: str | None = None  # E.164
    service_code: str | None = None
    network_code: str | None = None
    duration_ms: int | None = None
    hops: int | None = None
    cost: str | None = None
    input: str | None = None
    last_reply: str | None = None
    error: str | None = None
    dropped: tuple[str, ...] = ()  # optional fields the parser could not read (kept in `raw`)
    raw: str | None = field(default=None, compare=False)  # the provider's form as received


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
    return str(screen)[:SCREEN_MAX] if screen is not None else None


def record(session: Session, ended: SessionEnded, *, last_screen: str | None,
           received_at: datetime | None = None) -> None:
    """Store the notification as its session's log row (caller commits)."""
    if ended.status not in KNOWN_STATUSES:
        log.warning("ussd event with an unknown status %r (stored as is)", ended.status)
    values = asdict(ended)
    dropped = values.pop("dropped")
    if dropped:
        log.warning("ussd event stored without its unreadable %s (kept raw)", ", ".join(dropped))
    values["last_screen"] = last_screen
    values["received_at"] = received_at or utcnow()
    _upsert(session, values)
    log.info("ussd session ended: status=%s phone=%s hops=%s screen=%s", ended.status,
             mask(ended.phone) if ended.phone else "-", ended.hops, last_screen)


# The two backends Isoko runs on; both have INSERT ... ON CONFLICT DO UPDATE.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _upsert(session: Session, values: dict) -> None:
    """Insert, or update the row of the same session, in one statement."""
    insert = _INSERTS[session.get_bind().dialect.name]
    statement = insert(UssdSessionLog).values(**values)
    excluded = statement.excluded
    updates = {name: excluded[name] for name in values if name not in ("session_id", "last_screen")}
    # A repeat after the Redis record expired must not erase the screen.
    updates["last_screen"] = func.coalesce(excluded.last_screen, UssdSessionLog.last_screen)
    session.execute(statement.on_conflict_do_update(index_elements=["session_id"], set_=updates))
