"""Log-in, log-out and the console's front page."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from gateway.console.access import throttle
from gateway.console.access.forms import LoginForm
from gateway.console.auth import current_operator, log_in, log_out, requires, safe_next, services
from gateway.console.blueprint import bp
from gateway.console.common.forms import ConfirmForm, posted, validated
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
    the reason and 401 (429 to an address past its failed log-ins, see
    `throttle`). Unknown and locked accounts get the same answer as a wrong
    password, so the page tells no one which accounts exist or are locked."""
    next_url = request.args.get("next") or ""
    form = LoginForm()
    if not form.is_submitted():
        if current_operator() is not None:
            return redirect(safe_next(next_url))
        return render_template("console/login.html", error=None, username="", next=next_url)
    validated(form)
    username, address = form.username.data, request.remote_addr
    gateway = services()
    limit = gateway.settings.access.logins_per_address
    if throttle.blocked(gateway.redis, address, limit):
        return render_template("console/login.html", error=THROTTLED, username=username,
                               next=next_url), 429
    with gateway.db.session() as s:
        result = operators.authenticate(s, username, form.password.data)
    if result.ok:
        log_in(result.operator)
        return redirect(safe_next(next_url))
    _count_failure(gateway, address, limit)
    return render_template("console/login.html", error=_refusal(result), username=username,
                           next=next_url), 401


MINUTES = int(operators.LOCK_OUT.total_seconds() // 60)
REFUSED = (f"Wrong username or password. After {operators.MAX_FAILED_LOGINS} failed log-ins "
           f"an account is locked for {MINUTES} minutes; an admin can unlock it.")
THROTTLED = (f"Too many failed log-ins from your network. Wait {MINUTES} minutes "
             "without trying, then log in again.")


def _refusal(result) -> str:
    """What the log-in page says to a refused attempt: one answer for a wrong
    password, an unknown and a locked account. "Disabled" is said only
    after the right password (so only to the account's owner)."""
    if result.outcome == "disabled":
        return "This account is disabled. Ask an admin."
    return REFUSED


def _count_failure(gateway, address: str | None, limit: int) -> None:
    """Count the address's failure; the one that uses its last attempt is audited."""
    if throttle.failed(gateway.redis, address) == limit:
        with gateway.db.session() as s:
            operators.audit(s, "login_throttled", target=(address or "unknown"),
                            detail=f"{limit} failed log-ins; refused for {MINUTES} quiet minutes")


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
