"""`gateway apikeys ...`: create, list, revoke the keys buyer platforms use."""
from __future__ import annotations

import click

from gateway.api import keys as apikeys
from gateway.cli.common import database as _database


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "-"


@click.group("apikeys")
def group() -> None:
    """API keys for buyer platforms: create, list, revoke."""

@group.command("create")
@click.argument("name")
def create_cmd(name: str) -> None:
    """Create a key named NAME and print its token (shown only once)."""
    database = _database()
    try:
        with database.session() as s:
            key, token = apikeys.create(s, name)
            key_id, prefix = key.id, key.prefix
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    # The token alone on stdout, so `TOKEN=$(gateway apikeys create NAME)` works.
    click.echo(f"created API key {key_id} ({prefix}) for {name!r}", err=True)
    click.echo(token)
    click.echo("Store this token now: it is shown only once and cannot be recovered.",
               err=True)

@group.command("list")
def list_cmd() -> None:
    """Every key: id, prefix, name, created, last used, revoked."""
    database = _database()
    try:
        with database.session() as s:
            keys = apikeys.list_keys(s)
    finally:
        database.dispose()
    click.echo(f"{'ID':>4}  {'PREFIX':<8}  {'CREATED':<16}  {'LAST USED':<16}  "
               f"{'REVOKED':<16}  NAME")
    for key in keys:
        click.echo(f"{key.id:>4}  {key.prefix:<8}  {_when(key.created_at):<16}  "
                   f"{_when(key.last_used_at):<16}  {_when(key.revoked_at):<16}  {key.name}")

@group.command("revoke")
@click.argument("id_or_prefix")
def revoke_cmd(id_or_prefix: str) -> None:
    """Revoke the key with this id or prefix; its token stops working at once."""
    database = _database()
    try:
        with database.session() as s:
            key = apikeys.revoke(s, id_or_prefix)
            key_id, prefix, name = key.id, key.prefix, key.name
    except apikeys.KeyNotFound as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    click.echo(f"revoked API key {key_id} ({prefix}) {name!r}")
