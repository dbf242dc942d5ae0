"""Menu versions: published definitions are immutable rows; a head per menu
names the one new sessions get. Sessions in flight keep their pinned version.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import menus
from gateway.ussd import actions, sources
from gateway.ussd.models import MenuHead, MenuVersion
from menus.lint import Capabilities, errors, lint
from menus.model import DefinitionError
from menus.problems import Problem

SHIPPED = Path(menus.__file__).resolve().parent / "definitions"
CAPABILITIES = Capabilities(
    actions={name: outcomes for name, (_, outcomes) in actions.REGISTRY.items()},
    sources=dict(sources.MAX_LABEL),
)


def parse(source: str) -> dict:
    """A definition dict from YAML text; DefinitionError when it is not YAML
    or not a mapping."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem("error", None, None, None, f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise DefinitionError([Problem("error", None, None, None, "definition must be a mapping")])
    return data


def check(source: str) -> list[Problem]:
    """Every problem of a YAML definition, with the gateway's capabilities."""
    try:
        return lint(parse(source), CAPABILITIES)
    except DefinitionError as exc:
        return exc.problems


def publish(s: Session, source: str, *, created_by: str | None = None, note: str | None = None) -> MenuVersion:
    """Store `source` as the next version of its menu and make it the head.
    DefinitionError (nothing stored) when the linter finds an error."""
    problems = errors(check(source))
    if problems:
        raise DefinitionError(problems)
    name = str(parse(source).get("name", "menu"))
    latest = s.scalar(select(func.max(MenuVersion.version)).where(MenuVersion.name == name)) or 0
    row = MenuVersion(name=name, version=latest + 1, source=source,
                      created_at=datetime.now(timezone.utc), created_by=created_by, note=note)
    s.add(row)
    s.flush()
    _set_head(s, name, row.version)
    return row


def rollback(s: Session, name: str, version: int) -> MenuVersion:
    """Make an earlier published version the head again. LookupError if absent."""
    row = s.scalar(select(MenuVersion).where(MenuVersion.name == name, MenuVersion.version == version))
    if row is None:
        raise LookupError(f"menu {name} has no version {version}")
    _set_head(s, name, version)
    return row


def _set_head(s: Session, name: str, version: int) -> None:
    head = s.get(MenuHead, name)
    now = datetime.now(timezone.utc)
    if head is None:
        s.add(MenuHead(name=name, version=version, updated_at=now))
    else:
        head.version, head.updated_at = version, now


def head(s: Session, name: str) -> int | None:
    row = s.get(MenuHead, name)
    return row.version if row else None


def definition(s: Session, name: str, version: int) -> dict:
    """The parsed definition of a published version. LookupError if absent."""
    row = s.scalar(select(MenuVersion).where(MenuVersion.name == name, MenuVersion.version == version))
    if row is None:
        raise LookupError(f"menu {name} has no version {version}")
    return parse(row.source)


def versions(s: Session, name: str | None = None) -> list[MenuVersion]:
    query = select(MenuVersion).order_by(MenuVersion.name, MenuVersion.version)
    if name:
        query = query.where(MenuVersion.name == name)
    return list(s.scalars(query))


def ensure_shipped(s: Session) -> list[str]:
    """Publish each shipped menu that has never been published. Returns their names."""
    published = []
    for path in sorted(SHIPPED.glob("*.yaml")):
        source = path.read_text(encoding="utf-8")
        name = str(parse(source).get("name", path.stem))
        if head(s, name) is None:
            publish(s, source, created_by="shipped", note=f"shipped {path.name}")
            published.append(name)
    return published
