"""`gateway operators ...`: create, list, set-role, set-password, disable, enable."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from gateway.cli.common import services as _services
from gateway.operators import accounts as operators
from gateway.operators.models import Role

ROLES = click.Choice([r.value for r in Role])


@contextmanager
def _session():
    """A session on the database with its schema in place; the engine is
    closed afterwards (a command is one short transaction)."""
    services = _services()
    try:
        with services.db.session() as s:
            yield s
    finally:
        services.db.dispose()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


def _run(change) -> None:
    try:
        with _session() as s:
            change(s)
    except operators.OperatorError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("operators")
def group() -> None:
    """Operators of the web console: create, list, change roles, disable."""

@group.command("create")
@click.argument("username")
@click.option("--role", type=ROLES, default=Role.VIEWER.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def create_cmd(username: str, role: str, password_stdin: bool) -> None:
    """Create an operator (the first one: --role admin); the password is prompted twice."""
    password = _password(password_stdin)
    _run(lambda s: operators.create(s, username, password, role, actor="cli"))
    click.echo(f"created {operators.normalize_username(username)} ({role})")

@group.command("list")
def list_cmd() -> None:
    """Every operator with role and state."""
    with _session() as s:
        rows = operators.all_operators(s)
    for op in rows:
        state = "disabled" if not op.active else (
            f"locked until {op.locked_until:%Y-%m-%d %H:%M} UTC" if op.locked_until else "active")
        last = f"{op.last_login_at:%Y-%m-%d %H:%M}" if op.last_login_at else "never"
        click.echo(f"{op.username:<24} {Role(op.role).value:<7} {state:<34} last login {last}")
    if not rows:
        click.echo("no operators yet: gateway operators create NAME --role admin")

@group.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
def set_role_cmd(username: str, role: str) -> None:
    """Change an operator's role (admin, editor, viewer)."""
    _run(lambda s: operators.set_role(s, username, role, actor="cli"))
    click.echo(f"{operators.normalize_username(username)} is now {role}")

@group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def set_password_cmd(username: str, password_stdin: bool) -> None:
    """Set a new password (also lifts a lock-out; open sessions end)."""
    password = _password(password_stdin)
    _run(lambda s: operators.set_password(s, username, password, actor="cli"))
    click.echo(f"password of {operators.normalize_username(username)} changed")

@group.command("disable")
@click.argument("username")
def disable_cmd(username: str) -> None:
    """Disable an operator: no log-in, open sessions end at the next click."""
    _run(lambda s: operators.set_active(s, username, False, actor="cli"))
    click.echo(f"{operators.normalize_username(username)} disabled")

@group.command("enable")
@click.argument("username")
def enable_cmd(username: str) -> None:
    """Enable a disabled operator again (and lift a lock-out)."""
    _run(lambda s: operators.set_active(s, username, True, actor="cli"))
    click.echo(f"{operators.normalize_username(username)} enabled")
