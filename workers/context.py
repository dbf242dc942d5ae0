"""What jobs need from their process: the Database, and the SMS age limit.

RQ jobs receive only ids, so they find their Database here. The web process
(for its in-process worker) or the worker command calls `configure` once at
start-up; a worker started without it builds the Database from the
DATABASE_URL environment variable on first use. Nothing happens at import.
"""
from __future__ import annotations

import os
import threading
from datetime import timedelta

from gateway.db import Database

DEFAULT_SMS_MAX_AGE = timedelta(hours=1)

_lock = threading.Lock()
_url: str | None = None
_database: Database | None = None
_sms_max_age: timedelta = DEFAULT_SMS_MAX_AGE


def configure(database_url: str, *, sms_max_age: timedelta = DEFAULT_SMS_MAX_AGE) -> None:
    """Set the database URL (and SMS age limit) jobs use in this process.

    A previously built Database is disposed; the new one is built lazily.
    """
    global _url, _database, _sms_max_age
    with _lock:
        old, _database = _database, None
        _url, _sms_max_age = database_url, sms_max_age
    if old is not None:
        old.dispose()


def database() -> Database:
    """The process's Database, built on first use from the configured URL or
    DATABASE_URL; raises RuntimeError when neither is set."""
    global _database
    with _lock:
        if _database is None:
            url = _url or os.environ.get("DATABASE_URL")
            if not url:
                raise RuntimeError("workers.context: call configure() or set DATABASE_URL")
            _database = Database(url)
        return _database


def sms_max_age() -> timedelta:
    """How old a queued SMS may be and still be sent."""
    return _sms_max_age


def reset() -> None:
    """Forget the configuration and dispose the Database (tests, shutdown)."""
    global _url, _database, _sms_max_age
    with _lock:
        old, _database = _database, None
        _url, _sms_max_age = None, DEFAULT_SMS_MAX_AGE
    if old is not None:
        old.dispose()
