"""The gateway's own account of USSD sessions: the hop stream, folded into SQL.

Every applied hop appends a summary to the hop stream in the hop's second
Redis round trip (`gateway.ussd.sessions`), so the hop itself runs no SQL
for it. `drain` (the periodic task `drain_hops`) reads the stream in
batches, folds each batch into one row per session and upserts those rows
in `ussd_sessions`, then deletes exactly the entries it stored.

Running it twice, or two at once, is harmless: the merge is idempotent (the
earliest start, and the latest hop by hop count, win) and XDEL removes only
the entries a run has stored. Entries lost with Redis are sessions the
dashboard does not count; nothing else depends on them.

The provider's end-of-session notifications (`gateway.ussd.events`) fill
other columns of the same row, before or after the drain; neither erases
the other's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import redis
from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.core import jobs as context
from gateway.core.db import Database
from gateway.ussd.models import UssdSessionLog
from gateway.ussd.sessions import CONTINUE, END, ERROR, HOPS_STREAM

log = logging.getLogger(__name__)

BATCH = 1000
MAX_BATCHES = 50  # per run: a backlog is worked off over several ticks, not in one long job
LAST_HOP = {CONTINUE: "continue", END: "end", ERROR: "error"}
ID_MAX, SCREEN_MAX, LANG_MAX = 128, 64, 2  # the columns' lengths


@dataclass
class Seen:
    """What a batch says about one session."""

    session_id: str
    started_at: datetime
    last_hop_at: datetime
    hop_count: int
    last_hop: str
    last_screen: str | None
    language: str | None

    def values(self) -> dict:
        return dict(self.__dict__)


def _parse(fields: dict) -> Seen | None:
    """One stream entry as a `Seen`, None when it is not one of ours."""
    try:
        d = {k.decode(): v.decode() for k, v in fields.items()}
        at = datetime.fromtimestamp(float(d["t"]), timezone.utc)
        return Seen(d["s"][:ID_MAX], at, at, int(d["n"]), LAST_HOP[d["o"]],
                    (d.get("scr") or "")[:SCREEN_MAX] or None,
                    (d.get("l") or "")[:LANG_MAX] or None)
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, AttributeError):
        return None


def fold(entries) -> list[Seen]:
    """One `Seen` per session of `entries` (XRANGE's (id, fields) pairs):
    its first time, and the latest hop (by hop count) for the rest."""
    sessions: dict[str, Seen] = {}
    skipped = 0
    for _, fields in entries:
        seen = _parse(fields)
        if seen is None:
            skipped += 1
            continue
        known = sessions.get(seen.session_id)
        if known is None:
            sessions[seen.session_id] = seen
            continue
        started = min(known.started_at, seen.started_at)
        if seen.hop_count >= known.hop_count:
            known.__dict__.update(seen.__dict__)
        known.started_at = started
    if skipped:
        log.warning("hop stream: %d unreadable entries skipped", skipped)
    return list(sessions.values())


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_LATEST = ("last_hop_at", "hop_count", "last_hop", "last_screen", "language")


def upsert(session: Session, rows: list[Seen]) -> None:
    """Insert the sessions' rows, or merge them into the rows already there
    (from an earlier batch or the provider), in one statement (caller commits)."""
    if not rows:
        return
    insert = _INSERTS[session.get_bind().dialect.name]
    statement = insert(UssdSessionLog).values([row.values() for row in rows])
    new, old = statement.excluded, UssdSessionLog
    later = (old.hop_count.is_(None)) | (new.hop_count >= old.hop_count)
    updates = {name: case((later, new[name]), else_=getattr(old, name)) for name in _LATEST}
    # A screen the provider's notification stored stays when the gateway has none.
    updates["last_screen"] = case((later & new.last_screen.is_not(None), new.last_screen), else_=old.last_screen)
    updates["started_at"] = case(((old.started_at.is_(None)) | (new.started_at < old.started_at), new.started_at),
                                 else_=old.started_at)
    session.execute(statement.on_conflict_do_update(index_elements=["session_id"], set_=updates))


def drain(client: redis.Redis, db: Database, *, batch: int = BATCH, max_batches: int = MAX_BATCHES) -> int:
    """Move the hop stream into `ussd_sessions`; returns how many entries it stored."""
    stored = 0
    for _ in range(max_batches):
        entries = client.xrange(HOPS_STREAM, "-", "+", count=batch)
        if not entries:
            break
        with db.session() as s:
            upsert(s, fold(entries))
        client.xdel(HOPS_STREAM, *[entry_id for entry_id, _ in entries])
        stored += len(entries)
        if len(entries) < batch:
            break
    if stored:
        log.info("hop stream: %d hops stored", stored)
    return stored


def drain_hops() -> int:
    """The periodic task (`gateway.worker.periodic`): `drain` on the job's Redis and database."""
    return drain(context.redis(), context.database())
