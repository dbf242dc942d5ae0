"""What jobs need from their process: the Database, the settings, the SMS
provider and the SMS tuning.

RQ jobs receive only ids, so they find their services here. The web process
(for its in-process worker) or the worker command calls `configure` once at
start-up; a worker started without it builds everything from the
environment on first use (DATABASE_URL, AT_*, SMS_*). Nothing happens at import.

RQ's default worker forks a work horse per job: the child never uses the
parent's pooled database connections (it gets a fresh pool; the parent's
are left alone, not closed) nor its provider (HTTP sessions), and builds its own.

SMS tuning comes from these environment variables (not `Settings`, which
is not ours to extend here; see `SmsConfig.from_env`):

| variable | meaning | default |
|---|---|---|
| `SMS_RATE_PER_SECOND` | SMS per second per sender ID, across all workers | 20 |
| `SMS_CONCURRENCY` | sends in flight at once in one drain | 16 |
| `SMS_MAX_ATTEMPTS` | provider calls before a transient failure is final | 5 |
| `SMS_RETRY_BASE_SECONDS` | first retry delay; doubles per attempt, capped at 600 s | 15 |
| `SMS_HOLD_SECONDS` | pause after a 405 InsufficientBalance | 600 |
| `SMS_MAX_AGE_SECONDS` | a queued SMS older than this is dropped, not sent | 3600 |
"""
from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from gateway.core.db import Database

DEFAULT_SMS_MAX_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class SmsConfig:
    """How the send job behaves; `from_env` reads the SMS_* variables."""

    rate_per_second: int = 20
    concurrency: int = 16
    max_attempts: int = 5
    retry_base: float = 15.0  # seconds before the 2nd attempt; doubles each time
    retry_cap: float = 600.0
    retry_jitter: float = 0.2  # +-20 %, so a burst of failures does not retry in step
    hold_seconds: float = 600.0
    # A drain job sends for at most `budget` seconds, then hands over to a
    # fresh job (so periodic jobs get their turn); it waits up to `linger`
    # seconds for new or soon-due work before it ends.
    budget: float = 60.0
    linger: float = 1.0
    # A claimed (`sending`) row whose worker is gone: after `lease` seconds
    # the sweeper marks it failed as "unknown_outcome" (never resends it).
    lease: float = 300.0
    provider_timeout: float | tuple[float, float] | None = None  # None: the SDK's (3.05, 9.05)
    max_age_seconds: int = int(DEFAULT_SMS_MAX_AGE.total_seconds())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmsConfig:
        env = os.environ if environ is None else environ
        base = cls()

        def number(name: str, default, low, high, kind=int):
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number between {low} and {high}, got {raw!r}") from None
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")
            return value

        return dataclasses.replace(
            base,
            rate_per_second=number("SMS_RATE_PER_SECOND", base.rate_per_second, 1, 10_000),
            concurrency=number("SMS_CONCURRENCY", base.concurrency, 1, 256),
            max_attempts=number("SMS_MAX_ATTEMPTS", base.max_attempts, 1, 50),
            retry_base=number("SMS_RETRY_BASE_SECONDS", base.retry_base, 0, 3600, float),
            hold_seconds=number("SMS_HOLD_SECONDS", base.hold_seconds, 1, 86_400, float),
            max_age_seconds=number("SMS_MAX_AGE_SECONDS", base.max_age_seconds, 60, 7 * 86_400),
        )


_lock = threading.Lock()
_url: str | None = None
_database: Database | None = None
_database_pid: int | None = None
_sms_max_age: timedelta | None = None
_settings = None
_provider = None  # configured explicitly
_built_provider = None  # built from the settings, per process
_built_provider_pid: int | None = None
_sms: SmsConfig | None = None


def configure(database_url: str, *, sms_max_age: timedelta | None = None, settings=None,
              provider=None, sms: SmsConfig | None = None) -> None:
    """Set what jobs use in this process: the database URL, and optionally
    the settings (for the provider and sender ID), a ready provider (tests),
    the SMS tuning and the SMS age limit. A previously built Database is
    disposed; the new one is built lazily."""
    global _url, _database, _sms_max_age, _settings, _provider, _built_provider, _sms
    with _lock:
        old, _database = _database, None
        _url, _sms_max_age, _settings, _provider, _sms = database_url, sms_max_age, settings, provider, sms
        _built_provider = None
    if old is not None:
        old.dispose()


def database() -> Database:
    """The process's Database, built on first use from the configured URL or
    DATABASE_URL; raises RuntimeError when neither is set."""
    global _database, _database_pid
    with _lock:
        if _database is not None and _database_pid != os.getpid():
            # A forked work horse: a fresh pool, leaving the parent's
            # connections to the parent (SQLAlchemy's recipe for forks).
            _database.engine.dispose(close=False)
            _database_pid = os.getpid()
        if _database is None:
            url = _url or os.environ.get("DATABASE_URL")
            if not url:
                raise RuntimeError("workers.context: call configure() or set DATABASE_URL")
            _database, _database_pid = Database(url), os.getpid()
        return _database


def settings():
    """The gateway settings: configured, else read from the environment."""
    global _settings
    with _lock:
        if _settings is None:
            from gateway.core.settings import Settings

            # "serve" mode: a worker needs no SECRET_KEY (jobs sign nothing).
            _settings = Settings.from_env(mode="serve")
        return _settings


def sms() -> SmsConfig:
    """The SMS tuning: configured, else from the SMS_* variables."""
    global _sms
    with _lock:
        if _sms is None:
            _sms = SmsConfig.from_env()
        return _sms


def provider():
    """The SMS provider: configured, else built from the settings (per process)."""
    global _built_provider, _built_provider_pid
    if _provider is not None:
        return _provider
    config, current = settings(), sms()
    with _lock:
        if _built_provider is None or _built_provider_pid != os.getpid():
            from gateway.sms.providers import provider_for

            _built_provider = provider_for(config, timeout=current.provider_timeout)
            _built_provider_pid = os.getpid()
        return _built_provider


def redis():
    """The Redis connection of the job running in this thread (RQ hands it to
    the worker; the in-process worker's is the embedded store)."""
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        raise RuntimeError("gateway.core.jobs.redis(): not inside an RQ job")
    return job.connection


def sms_max_age() -> timedelta:
    """How old a queued SMS may be and still be sent (SMS_MAX_AGE_SECONDS,
    default one hour, unless configured)."""
    if _sms_max_age is None:
        return timedelta(seconds=sms().max_age_seconds)
    return _sms_max_age


def reset() -> None:
    """Forget the configuration and dispose the Database (tests, shutdown)."""
    global _url, _database, _sms_max_age, _settings, _provider, _built_provider, _sms
    with _lock:
        old, _database = _database, None
        _url, _sms_max_age, _settings, _provider, _built_provider, _sms = (None,) * 6
    if old is not None:
        old.dispose()
