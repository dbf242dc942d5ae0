"""`gateway menus ...`: lint, publish, list, rollback."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
import redis
import yaml

from gateway.cli.common import services as _services
from gateway.ussd import menustore
from gateway.ussd.sessions import HEAD_TTL
from menus import gsm7
from menus.lint import errors
from menus.model import DefinitionError


def _read(path: str, *, exact: bool = False) -> str:
    """The file's text; `exact` keeps its line endings as they are (no newline
    translation), so --fix writes back what it read but what it replaced."""
    try:
        return Path(path).read_bytes().decode("utf-8") if exact else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read: {exc}") from None


def _scalar_spans(source: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of every scalar of the YAML `source`:
    what a phone may show. Comments are not in them. Empty when the YAML
    does not parse (the lint that follows reports it)."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    spans, seen, todo = set(), set(), [root] if root is not None else []
    while todo:  # bounded: each node is visited once (an alias names a node seen already)
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            spans.add((node.start_mark.index, node.end_mark.index))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            todo.extend(part for pair in node.value for part in pair)
    return sorted(spans)


def _fix(path: str, source: str) -> str:
    """Write the GSM-7 replacements (menus.gsm7's table) into the file's
    strings: a replacement of characters in place, so comments, quoting,
    order and layout stay as they were. Returns the new source."""
    pieces, counts, at = [], Counter(), 0
    for start, end in _scalar_spans(source):
        scalar = source[start:end]
        counts.update(ch for ch in scalar if not gsm7.is_gsm7(ch) and gsm7.replacement(ch) is not None)
        pieces += [source[at:start], gsm7.fix(scalar)]
        at = end
    fixed = "".join(pieces) + source[at:]
    if fixed == source:
        return source
    try:
        Path(path).write_bytes(fixed.encode("utf-8"))
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot write: {exc}") from None
    done = ", ".join(f"{ch!r} -> {gsm7.replacement(ch)!r}" + (f" ({n}x)" if n > 1 else "")
                     for ch, n in counts.items())
    click.echo(f"{path}: fixed {sum(counts.values())} character(s): {done}")
    return fixed


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
@click.option("--fix", is_flag=True,
              help="first replace characters outside GSM-7 by their GSM-7 spelling, in place")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def lint_cmd(files: tuple[str, ...], fix: bool) -> None:
    """Validate definitions; exit non-zero on any error. With --fix, each FILE
    first gets the linter's GSM-7 replacements (curly quotes to straight ones,
    accents GSM-7 lacks to the bare letter...), keeping its comments and
    layout; what has no replacement is still reported."""
    failed = False
    for path in files:
        source = _read(path, exact=fix)
        if fix:
            source = _fix(path, source)
        problems = menustore.check(source)
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
