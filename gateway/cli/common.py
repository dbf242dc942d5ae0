"""What every command group shares: the settings, and the services built from
them with the schema in place. Each problem stops the command with one line."""
from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from gateway.core.db import Database, pool_limits
from gateway.core.redis_conn import client_for
from gateway.core.settings import Settings, SettingsError
from gateway.web.services import Services, build_services


def settings(mode: str = "serve") -> Settings:
    """The settings from the environment, or a ClickException listing every problem."""
    try:
        return Settings.from_env(mode=mode)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def upgrade_or_fail(database: Database, prepare=Database.upgrade) -> None:
    """`prepare(database)` (by default: migrate), or stop with one clear line
    when the database is unreachable."""
    try:
        prepare(database)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        raise click.ClickException(f"cannot reach the database: {reason}") from None


def database_unmigrated() -> Database:
    """The configured database, as it is."""
    return Database(settings().database_url, pool_limits(settings()))


def database() -> Database:
    """The configured database with the schema in place (a fresh one gets it here).
    For commands that need SQL only, no Redis."""
    db = database_unmigrated()
    upgrade_or_fail(db)
    return db


def services() -> Services:
    """Every service, with the schema in place."""
    built = build_services(settings())
    upgrade_or_fail(built.db)
    return built


def redis():
    """The configured Redis (the embedded store when REDIS_URL is unset)."""
    return client_for(settings())
