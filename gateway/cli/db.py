"""`gateway db ...`: the database schema."""
from __future__ import annotations

import click

from gateway.cli.common import database_unmigrated, upgrade_or_fail
from gateway.web.services import prepare_database


@click.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def upgrade() -> None:
    """Migrate, and leave the database ready to serve: reference data, the
    demo catalogue, the shipped menus (the Procfile's release step).
    Running it again changes nothing."""
    target = database_unmigrated()
    upgrade_or_fail(target, prepare=prepare_database)
    click.echo(f"database at revision {target.current_revision()}")
