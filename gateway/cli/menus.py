"""`gateway menus ...`: lint, publish, list, rollback."""
from __future__ import annotations

from pathlib import Path

import click
import redis

from gateway.cli.common import services as _services
from gateway.ussd import menustore
from gateway.ussd.sessions import HEAD_TTL
from menus.lint import errors
from menus.model import DefinitionError


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read: {exc}") from None


def _set_live_head(services, name: str, version: int) -> None:
    """Tell running gateways at once; if Redis is unreachable they still pick
    the version up from the database within HEAD_TTL seconds."""

    try:
        services.store.set_head(name, version, published=True)
    except redis.RedisError as exc:
        click.echo(f"warning: Redis unreachable ({exc.__class__.__name__}); running gateways "
                   f"switch within {HEAD_TTL} s", err=True)


@click.group()
def menus() -> None:
    """Menu definitions: lint, publish, list, roll back."""

@menus.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def lint_cmd(files: tuple[str, ...]) -> None:
    """Validate definitions; exit non-zero on any error."""
    failed = False
    for path in files:
        problems = menustore.check(_read(path))
        for problem in problems:
            click.echo(f"{path}: {problem}")
        if errors(problems):
            failed = True
        elif not problems:
            click.echo(f"{path}: ok")
    if failed:
        raise SystemExit(1)

@menus.command("publish")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--note", default=None, help="why this version")
def publish_cmd(file: str, note: str | None) -> None:
    """Publish FILE as the next version of its menu; new sessions get it at once."""
    services = _services()
    try:
        with services.db.session() as s:
            row = menustore.publish(s, _read(file), created_by="cli", note=note)
            name, version = row.name, row.version
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"{file}: {problem}", err=True)
        raise SystemExit(1) from None
    _set_live_head(services, name, version)
    click.echo(f"published {name} version {version}")

@menus.command("list")
def list_cmd() -> None:
    """Every published version; the head of each menu is starred."""
    services = _services()
    with services.db.session() as s:
        for row in menustore.versions(s):
            star = "*" if menustore.head(s, row.name) == row.version else " "
            click.echo(f"{star} {row.name} {row.version:>4}  {row.created_at:%Y-%m-%d %H:%M}  "
                       f"{row.created_by or ''}  {row.note or ''}".rstrip())

@menus.command("rollback")
@click.argument("name")
@click.argument("version", type=int)
def rollback_cmd(name: str, version: int) -> None:
    """Make an earlier version of NAME the one new sessions get."""
    services = _services()
    try:
        with services.db.session() as s:
            menustore.rollback(s, name, version)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    _set_live_head(services, name, version)
    click.echo(f"{name} now serves version {version}")
