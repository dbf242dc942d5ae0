"""Versioned documents the console edits: menus and the SMS texts.

A document has published, immutable versions (rows of `menu_versions`, the
head in `menu_heads`) and at most one draft (a `drafts` row named like the
document, started from the head on the first save). Saving lints; publishing
needs a clean lint, stores the next version, drops the draft and tells
running processes; rolling back moves the head. Every change is audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.ussd import menustore
from gateway.operators import accounts as operators
from gateway.ussd.models import MenuVersion
from gateway.operators.models import Draft
from menus.lint import errors
from menus.problems import Problem


class DocumentError(ValueError):
    """A change that cannot be made; `problems` lists lint errors when that is why."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Document:
    """How to lint, store and announce one kind of document named `name`.

    `store(session, source, created_by, note)` adds the next version and makes
    it the head; `announce(version)` runs after the commit and returns a
    warning (or None) when running processes could not be told at once."""

    kind: str
    name: str
    lint: Callable[[str], list[Problem]]
    store: Callable[[Session, str, str | None, str | None], MenuVersion]
    announce: Callable[[int], str | None]


@dataclass
class Working:
    """What the editor shows: the draft when there is one, else the head."""

    source: str
    head: int | None
    draft: Draft | None

    @property
    def stale(self) -> bool:
        """The draft was started from another version than today's head."""
        return self.draft is not None and self.draft.base_version != self.head


def head_source(s: Session, name: str) -> tuple[int | None, str | None]:
    version = menustore.head(s, name)
    if version is None:
        return None, None
    return version, version_row(s, name, version).source


def version_row(s: Session, name: str, version: int) -> MenuVersion:
    row = s.scalar(select(MenuVersion).where(MenuVersion.name == name, MenuVersion.version == version))
    if row is None:
        raise LookupError(f"{name} has no version {version}")
    return row


def working(s: Session, name: str, default: str | None = None) -> Working:
    """The draft, else the head, else `default` (a shipped file); LookupError
    when there is none of them."""
    head, source = head_source(s, name)
    draft = s.get(Draft, name)
    if draft is not None:
        return Working(draft.source, head, draft)
    if source is None:
        if default is None:
            raise LookupError(f"nothing named {name}")
        source = default
    return Working(source, head, None)


def save_draft(s: Session, doc: Document, source: str, *, by, what: str) -> list[Problem]:
    """Store `source` as the draft (creating it from the head on first save),
    audit it, and return its lint problems."""
    source = normalize_source(source)
    problems = doc.lint(source)
    draft = s.get(Draft, doc.name)
    if draft is None:
        draft = Draft(name=doc.name, source=source, base_version=menustore.head(s, doc.name),
                      updated_by=by.username)
        s.add(draft)
    else:
        draft.source, draft.updated_by = source, by.username
    n_errors = len(errors(problems))
    operators.audit(s, "draft_save", by=by, target=doc.name,
                    detail=f"{what}; {n_errors} error(s), {len(problems) - n_errors} warning(s)")
    return problems


def discard_draft(s: Session, doc: Document, *, by) -> bool:
    draft = s.get(Draft, doc.name)
    if draft is None:
        return False
    s.delete(draft)
    operators.audit(s, "draft_discard", by=by, target=doc.name, detail=f"based on version {draft.base_version}")
    return True


def publish(db, doc: Document, *, by, note: str | None) -> tuple[MenuVersion, str | None]:
    """Publish the draft. DocumentError when there is no draft, when it is
    the head already, or when lint finds errors. Returns the new version and
    a warning from `announce`, if any."""
    with db.session() as s:
        draft = s.get(Draft, doc.name)
        if draft is None:
            raise DocumentError("There is no draft to publish: edit something first.")
        problems = errors(doc.lint(draft.source))
        if problems:
            raise DocumentError(f"The draft has {len(problems)} lint error(s): fix them first.", problems)
        head, head_text = head_source(s, doc.name)
        if head_text is not None and head_text == draft.source:
            raise DocumentError(f"The draft is the same as version {head}, the one in service.")
        row = doc.store(s, draft.source, by.username, note or None)
        version = row.version
        s.delete(draft)
        operators.audit(s, "publish", by=by, target=doc.name,
                        detail=f"version {version}" + (f" (was {head})" if head else "") + (f": {note}" if note else ""))
    return row, doc.announce(version)


def rollback(db, doc: Document, version: int, *, by) -> str | None:
    """Make `version` the head again. LookupError if absent, DocumentError if it is the head."""
    with db.session() as s:
        head = menustore.head(s, doc.name)
        if head == version:
            raise DocumentError(f"Version {version} is already in service.")
        menustore.rollback(s, doc.name, version)
        operators.audit(s, "rollback", by=by, target=doc.name, detail=f"version {head} -> {version}")
    return doc.announce(version)


def normalize_source(source: str) -> str:
    """Text as browsers send it (CRLF) made the YAML we store (LF, final newline)."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    return source if source.endswith("\n") else source + "\n"
