"""Menus as console documents: lint with the gateway's capabilities, publish
through `gateway.menustore`, announce the head in Redis so every web process
serves it to the next new session."""
from __future__ import annotations

from functools import lru_cache

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.ussd import menustore
from gateway.console.common.documents import Document
from gateway.ussd.models import MenuHead, MenuVersion
from gateway.operators.models import Draft
from gateway.sms.texts import SMS_TEXTS
from gateway.ussd.sessions import HEAD_TTL
from menus.lint import lint as menus_lint
from menus.model import DefinitionError
from menus.problems import Problem

# Published documents that are not USSD menus.
NOT_MENUS = frozenset({SMS_TEXTS})


@lru_cache(maxsize=16)
def parsed(source: str) -> dict:
    """`menustore.parse`, remembered: one page lints, previews and lists the
    same source. Callers must not change the dict."""
    return menustore.parse(source)


def lint(name: str, source: str) -> list[Problem]:
    """Every problem of a menu draft (what `menustore.check` reports), plus:
    the menu keeps its name (a different name would publish a different menu)."""
    try:
        definition = parsed(source)
    except DefinitionError as exc:
        return list(exc.problems)
    return lint_definition(name, definition)


def lint_definition(name: str, definition: dict) -> list[Problem]:
    """`lint` of an already parsed definition."""
    try:
        problems = menus_lint(definition, menustore.CAPABILITIES)
    except DefinitionError as exc:
        return list(exc.problems)
    given = str(definition.get("name", "menu"))
    if given != name:
        problems.append(Problem("error", None, None, None,
                                f"name must stay {name!r} (found {given!r}); a new menu is published "
                                f"with `gateway menus publish FILE`"))
    return problems


def document(services, name: str) -> Document:
    def store(s: Session, source: str, created_by: str | None, note: str | None) -> MenuVersion:
        return menustore.publish(s, source, created_by=created_by, note=note)

    def announce(version: int) -> str | None:
        try:
            services.store.set_head(name, version, published=True)
        except redis.RedisError as exc:
            return (f"Redis is unreachable ({exc.__class__.__name__}): running gateways switch "
                    f"to version {version} within {HEAD_TTL} s.")
        return None

    return Document("menu", name, lambda source: lint(name, source), store, announce)


def menus_overview(s: Session) -> list[dict]:
    """Every published menu: name, head, number of versions, latest, draft."""
    heads = {h.name: h for h in s.scalars(select(MenuHead))}
    counts = s.execute(select(MenuVersion.name, func.count(), func.max(MenuVersion.version),
                              func.max(MenuVersion.created_at)).group_by(MenuVersion.name)).all()
    drafts = {d.name: d for d in s.scalars(select(Draft))}
    out = []
    for name, count, latest, latest_at in sorted(counts):
        if name in NOT_MENUS:
            continue
        head = heads.get(name)
        out.append({"name": name, "head": head.version if head else None,
                    "head_at": head.updated_at if head else None, "versions": count,
                    "latest": latest, "latest_at": latest_at, "draft": drafts.get(name)})
    return out


def exists(s: Session, name: str) -> bool:
    return name not in NOT_MENUS and menustore.head(s, name) is not None
