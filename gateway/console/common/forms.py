"""Forms every console area uses, and the base class of all console forms.

Flask-WTF forms read the request themselves (`request.form` is never read by
hand). The CSRF token is checked once per request by the app's
`CSRFProtect`; a `FlaskForm` sees that and does not check it again.

Many console forms are partial on purpose: a field the page did not send
leaves that part of the document alone, so `ConsoleForm.sent` and
`ConsoleForm.changes` tell a field posted empty from one not posted at all.
"""
from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from gateway.console.common.documents import normalize_source

F = TypeVar("F", bound="ConsoleForm")

MAX_SOURCE = 512 * 1024  # bytes of YAML a save may carry
MAX_NOTE = 500


class ConsoleForm(FlaskForm):
    """The base of every console form."""

    def sent(self, name: str) -> bool:
        """True when the request carried the field `name` (even empty)."""
        return bool(self[name].raw_data)

    def changes(self) -> dict[str, str]:
        """The posted fields other than the CSRF token, by their HTML name."""
        return {field.name: field.data for field in self
                if field.name != "csrf_token" and field.raw_data}

    def first_error(self) -> str | None:
        """The first validation message, in field order (None when valid)."""
        for field in self:
            if field.errors:
                return str(field.errors[0])
        return None


def validated(form: F) -> F:
    """`form`, validated; 400 with its first message otherwise."""
    if not form.validate():
        abort(400, description=form.first_error())
    return form


def posted(form_class: type[F]) -> F:
    """The validated form of this POST; 400 with its first message otherwise."""
    return validated(form_class())


def _strip_note(value: str | None) -> str:
    return (value or "").strip()[:MAX_NOTE]


class ConfirmForm(ConsoleForm):
    """A button that changes something (discard, roll back, unlock, log out):
    nothing but the CSRF token."""


class PublishForm(ConsoleForm):
    note = StringField(filters=[_strip_note])


class SourceForm(ConsoleForm):
    """The raw YAML of a document (the YAML page, and as-you-type lint)."""

    source = TextAreaField()

    def text(self) -> str:
        """The posted YAML as stored (LF, final newline); 413 when too large."""
        source = self.source.data or ""
        if len(source.encode()) > MAX_SOURCE:
            abort(413)
        return normalize_source(source)
