"""The log-in form. (Log-out is a `common.forms.ConfirmForm`.)"""
from __future__ import annotations

from wtforms import PasswordField, StringField

from gateway.console.common.forms import ConsoleForm
from gateway.operators import accounts as operators

MAX_USERNAME = 200


def _cut(limit: int):
    """A filter keeping at most `limit` characters: a megabyte "password"
    is refused without being hashed."""
    return lambda value: (value or "")[:limit]


class LoginForm(ConsoleForm):
    """Username and password. No validators: every failure, even an empty
    field, gets the one answer "Wrong username or password." from the view."""

    username = StringField(filters=[_cut(MAX_USERNAME)])
    password = PasswordField(filters=[_cut(operators.MAX_PASSWORD + 1)])
