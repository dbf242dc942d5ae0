"""Who is logged in to the console, and what they may do.

The stable API for every console view (menus, SMS texts, market, dashboard):

    from gateway.console.blueprint import bp
    from gateway.console.auth import current_operator, requires
    from gateway.operators.models import Role

    @bp.get("/market")
    @requires(Role.VIEWER)          # viewer < editor < admin
    def market():
        op = current_operator()     # CurrentOperator(id, username, role)
        masked = not op.can(Role.EDITOR)
        ...

`requires` sends a visitor who is not logged in to the log-in page (401 for
anything but a GET) and answers 403 to an operator whose role is too low, so
it protects a view even on another blueprint. CSRF is the app's business: its
one `CSRFProtect` refuses an unsafe request without a valid token (400)
before any view runs, on every blueprint it does not exempt. Templates extend
`console/base.html`; a form posts the token as the hidden field `csrf_token`
(`{{ csrf_token() }}`) or as the header `X-CSRFToken`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from gateway.operators import accounts as operators
from gateway.operators.models import Operator, Role

SESSION_KEY = "console_op"
STAMP_KEY = "console_stamp"


@dataclass(frozen=True)
class CurrentOperator:
    """The logged-in operator, as views and templates see them."""

    id: int
    username: str
    role: Role

    def can(self, role: Role | str) -> bool:
        """True when this operator has at least `role`."""
        return operators.at_least(self.role, role)


def services():
    """The app's services (`gateway.web.services.Services`)."""
    return current_app.extensions["isoko"]


def current_operator() -> CurrentOperator | None:
    """The operator of this request, or None. Read from the database once per
    request: a disabled account, a new role or a new password take effect on
    the operator's next click."""
    if "console_operator" in g:
        return g.console_operator
    found = None
    op_id = session.get(SESSION_KEY)
    if isinstance(op_id, int):
        with services().db.session() as s:
            row = s.get(Operator, op_id)
            if row is not None and row.active and session.get(STAMP_KEY) == operators.session_stamp(row):
                found = CurrentOperator(row.id, row.username, Role(row.role))
    if found is None and op_id is not None:
        session.pop(SESSION_KEY, None)
        session.pop(STAMP_KEY, None)
    g.console_operator = found
    return found


def log_in(operator: Operator) -> None:
    """Start a fresh session for `operator` (nothing of the old one survives)."""
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = operator.id
    session[STAMP_KEY] = operators.session_stamp(operator)
    g.console_operator = CurrentOperator(operator.id, operator.username, Role(operator.role))


def log_out() -> None:
    """End the session: the operator and everything kept for them."""
    session.clear()
    g.console_operator = None


def login_required_response():
    """What a visitor who is not logged in gets: the log-in page (GET) or 401."""
    if request.method == "GET":
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    abort(401)


def requires(role: Role | str = Role.VIEWER):
    """Decorator: the view needs a logged-in operator with at least `role`."""
    needed = Role(role)

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            operator = current_operator()
            if operator is None:
                return login_required_response()
            if not operator.can(needed):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = needed
        return wrapped

    return decorate


def safe_next(target: str | None) -> str:
    """Where to go after log-in: `target` if it is a path inside the console
    (never another site), else the dashboard."""
    default = url_for("console.dashboard")  # the front page: what an operator logs in to see
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/admin") or "\\" in target:
        return default
    return target
