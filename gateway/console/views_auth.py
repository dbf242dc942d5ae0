"""Log-in, log-out and the console's front page."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from gateway.operators import accounts as operators
from gateway.console import bp
from gateway.console.auth import current_operator, log_in, log_out, requires, safe_next, services
from gateway.operators.models import Role


@bp.get("/")
@requires(Role.VIEWER)
def index():
    return redirect(url_for("console.menus"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = request.args.get("next") or ""
    if request.method == "GET":
        if current_operator() is not None:
            return redirect(safe_next(next_url))
        return render_template("console/login.html", error=None, username="", next=next_url)
    username = request.form.get("username", "")[:200]
    password = request.form.get("password", "")[:operators.MAX_PASSWORD + 1]
    with services().db.session() as s:
        result = operators.authenticate(s, username, password)
    if result.ok:
        log_in(result.operator)
        return redirect(safe_next(next_url))
    if result.outcome == "locked":
        minutes = int(operators.LOCK_OUT.total_seconds() // 60)
        error = (f"Too many failed log-ins: this account is locked for {minutes} minutes "
                 f"(until {result.locked_until:%H:%M} UTC). Try again later or ask an admin.")
    elif result.outcome == "disabled":
        error = "This account is disabled. Ask an admin."
    else:
        error = "Wrong username or password."
    return render_template("console/login.html", error=error, username=username, next=next_url), 401


@bp.post("/logout")
def logout():
    operator = current_operator()
    if operator is not None:
        with services().db.session() as s:
            operators.audit(s, "logout", by=operator)
    log_out()
    flash("You are logged out.")
    return redirect(url_for("console.login"))
