"""The operator accounts' forms. The rules of a username, a password and a
role live in `gateway.operators.accounts`; its errors are shown as they are.
These forms only check what the page itself asks (two equal passwords, a
role chosen from the list)."""
from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import AnyOf, EqualTo

from gateway.console.common.forms import ConsoleForm
from gateway.operators.models import Role

ROLES = [r.value for r in Role]


class CreateOperatorForm(ConsoleForm):
    username = StringField(default="")
    role = StringField(default=Role.VIEWER.value)
    password = PasswordField(default="")
    password2 = PasswordField(default="", validators=[EqualTo("password", message="The two passwords differ.")])


class RoleForm(ConsoleForm):
    role = StringField(validators=[AnyOf(ROLES, message="Choose a role.")])


class ActiveForm(ConsoleForm):
    """Enable (`active=1`) or disable (anything else) an account."""

    active = StringField()

    @property
    def enable(self) -> bool:
        return self.active.data == "1"
