"""`gateway db ...`: the database schema."""
from __future__ import annotations

import click

from gateway.cli.common import database


@click.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def upgrade() -> None:
    """Apply the database migrations."""
    migrated = database()
    click.echo(f"database at revision {migrated.current_revision()}")
