"""What jobs find in their process: the settings, the Database, the job's Redis.

RQ jobs receive only ids and plain values, so the services they use must be
found in the process. This module is the one place that holds them: the
worker's start (`gateway.worker.start`, the worker side's composition root)
calls `configure` once; a worker started without it (plain `rq worker`)
builds the same from the environment on first use. Nothing happens at import.

RQ's default worker forks a work horse per job: the child never uses the
parent's pooled database connections (it gets a fresh pool; the parent's
are left alone, not closed), and whatever `per_process` built in the parent
(HTTP sessions to the SMS provider) is built again in the child.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rq import get_current_job

from gateway.core.db import Database, pool_limits
from gateway.core.settings import Settings, SmsConfig


@dataclass
class _Context:
    """The process's job context: what `configure` was told, what was built."""

    database_url: str | None = None
    settings: Settings | None = None
    provider: Any = None  # a ready SMS provider (tests); else built per process from the settings
    sms: SmsConfig | None = None
    sms_max_age: timedelta | None = None
    prepare: Callable[[Database], object] | None = None  # given each Database built here
    database: Database | None = None
    database_pid: int | None = None
    built: dict[str, tuple[int, Any]] = field(default_factory=dict)  # name -> (pid, object)


_lock = threading.RLock()
_context = _Context()


def configure(database_url: str, *, settings: Settings | None = None, provider: Any = None,
              sms: SmsConfig | None = None, sms_max_age: timedelta | None = None,
              prepare: Callable[[Database], object] | None = None) -> None:
    """Set what jobs use in this process: the database URL, and optionally the
    settings (the provider and sender ID come from them), a ready provider
    (tests), the SMS tuning (else the settings'), the SMS age limit, and
    `prepare(database)`, called on the Database once it is built (the worker's
    start uses it to give sessions the published SMS texts). A previously built
    Database is disposed; the new one is built lazily."""
    global _context
    with _lock:
        old, _context = _context, _Context(database_url, settings, provider, sms, sms_max_age, prepare)
    if old.database is not None:
        old.database.dispose()


def reset() -> None:
    """Forget the configuration and dispose the Database (tests, shutdown)."""
    global _context
    with _lock:
        old, _context = _context, _Context()
    if old.database is not None:
        old.database.dispose()


def database() -> Database:
    """The process's Database, built on first use from the configured URL or
    DATABASE_URL; raises RuntimeError when neither is set."""
    with _lock:
        ctx = _context
        if ctx.database is not None and ctx.database_pid != os.getpid():
            # A forked work horse: a fresh pool, leaving the parent's
            # connections to the parent (SQLAlchemy's recipe for forks).
            ctx.database.engine.dispose(close=False)
            ctx.database_pid = os.getpid()
        if ctx.database is None:
            url = ctx.database_url or os.environ.get("DATABASE_URL")
            if not url:
                raise RuntimeError("gateway.core.jobs: call configure() or set DATABASE_URL")
            pool = pool_limits(ctx.settings) if ctx.settings is not None else None
            ctx.database, ctx.database_pid = Database(url, pool), os.getpid()
            if ctx.prepare is not None:
                ctx.prepare(ctx.database)
        return ctx.database


def settings() -> Settings:
    """The gateway settings: configured, else read from the environment
    ("serve" mode: a worker needs no SECRET_KEY, jobs sign nothing)."""
    with _lock:
        if _context.settings is None:
            _context.settings = Settings.from_env(mode="serve")
        return _context.settings


def sms() -> SmsConfig:
    """The SMS tuning: configured, else the settings' SMS_* values."""
    return _context.sms or settings().sms


def sms_max_age() -> timedelta:
    """How old a queued SMS may be and still be sent (SMS_MAX_AGE_SECONDS,
    default one hour, unless configured)."""
    if _context.sms_max_age is None:
        return timedelta(seconds=sms().max_age_seconds)
    return _context.sms_max_age


def configured_provider() -> Any:
    """The provider `configure` was given, or None."""
    return _context.provider


def per_process(name: str, build: Callable[[], Any]) -> Any:
    """`build()`'s result, built once per process (again in a forked child)
    and forgotten by `configure`/`reset`."""
    with _lock:
        ctx = _context
        pid, value = ctx.built.get(name, (None, None))
        if pid != os.getpid():
            value = build()
            ctx.built[name] = (os.getpid(), value)
        return value


def redis():
    """The Redis connection of the job running in this thread (RQ hands it to
    the worker; the in-process worker's is the embedded store)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("gateway.core.jobs.redis(): not inside an RQ job")
    return job.connection
