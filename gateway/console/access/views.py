"""Log-in, log-out and the console's front page."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from gateway.console.access.forms import LoginForm
from gateway.console.auth import current_operator, log_in, log_out, requires, safe_next, services
from gateway.console.blueprint import bp
from gateway.console.common.forms import ConfirmForm, posted, validated
from gateway.console.present import when
from gateway.operators import accounts as operators
from gateway.operators.models import Role


@bp.get("/")
@requires(Role.VIEWER)
def index():
    """The front page is the dashboard: what an operator opens the console to see."""
    return redirect(url_for("console.dashboard"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The log-in page (GET, and HEAD: never counted as a log-in attempt), or
    a log-in attempt (POST): to `next` on success, else the page again with
    the reason and 401."""
    next_url = request.args.get("next") or ""
    form = LoginForm()
    if not form.is_submitted():
        if current_operator() is not None:
            return redirect(safe_next(next_url))
        return render_template("console/login.html", error=None, username="", next=next_url)
    validated(form)
    username = form.username.data
    with services().db.session() as s:
        result = operators.authenticate(s, username, form.password.data)
    if result.ok:
        log_in(result.operator)
        return redirect(safe_next(next_url))
    return render_template("console/login.html", error=_refusal(result), username=username,
                           next=next_url), 401


def _refusal(result) -> str:
    """What the log-in page says to a refused attempt."""
    if result.outcome == "locked":
        minutes = int(operators.LOCK_OUT.total_seconds() // 60)
        return (f"Too many failed log-ins: this account is locked for {minutes} minutes "
                f"(until {when(result.locked_until)}). Try again later or ask an admin.")
    if result.outcome == "disabled":
        return "This account is disabled. Ask an admin."
    return "Wrong username or password."


@bp.post("/logout")
def logout():
    posted(ConfirmForm)
    operator = current_operator()
    if operator is not None:
        with services().db.session() as s:
            operators.audit(s, "logout", by=operator)
    log_out()
    flash("You are logged out.")
    return redirect(url_for("console.login"))
