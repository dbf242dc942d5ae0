"""The audit log (every operator) and operator accounts (admins)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from gateway.console.admin.forms import ActiveForm, CreateOperatorForm, RoleForm
from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.common.forms import ConfirmForm, posted
from gateway.operators import accounts as operators
from gateway.operators.models import Role

AUDIT_ACTIONS = ("login", "login_failed", "lockout", "logout", "draft_save", "draft_discard", "publish",
                 "rollback", "operator_create", "operator_role", "operator_disable", "operator_enable",
                 "operator_password", "operator_unlock", "catalogue_edit", "catalogue_price", "catalogue_import",
                 "login_throttled", "simulator_hop")


@bp.get("/audit")
@requires(Role.VIEWER)
def audit():
    page = max(request.args.get("page", 1, type=int), 1)
    action = request.args.get("action") or None
    username = (request.args.get("username") or "").strip() or None
    target = (request.args.get("target") or "").strip() or None
    with services().db.session() as s:
        rows, more = operators.audit_page(s, page=page, action=action, username=username, target=target)
    filters = {k: v for k, v in (("action", action), ("username", username), ("target", target)) if v}
    return render_template("console/audit.html", rows=rows, page=page, more=more, filters=filters,
                           actions=AUDIT_ACTIONS)


@bp.get("/operators", endpoint="operators")
@requires(Role.ADMIN)
def operators_page():
    with services().db.session() as s:
        rows = operators.all_operators(s)
    return render_template("console/operators.html", rows=rows, roles=[r.value for r in Role],
                           min_password=operators.MIN_PASSWORD)


@bp.post("/operators")
@requires(Role.ADMIN)
def operator_create():
    form = CreateOperatorForm()
    if not form.validate():
        return _refused(form)
    return _change(lambda s: operators.create(s, form.username.data, form.password.data, form.role.data,
                                              by=current_operator()),
                   "Operator {} created.", form.username.data)


@bp.post("/operators/<username>/role")
@requires(Role.ADMIN)
def operator_role(username: str):
    form = RoleForm()
    if not form.validate():
        return _refused(form)
    role = form.role.data
    return _change(lambda s: operators.set_role(s, username, role, by=current_operator()),
                   f"{{}} is now {role}.", username)


@bp.post("/operators/<username>/active")
@requires(Role.ADMIN)
def operator_active(username: str):
    active = posted(ActiveForm).enable
    if not active and username == current_operator().username:
        flash("You cannot disable yourself.", "error")
        return redirect(url_for("console.operators"))
    return _change(lambda s: operators.set_active(s, username, active, by=current_operator()),
                   "{} enabled." if active else "{} disabled.", username)


@bp.post("/operators/<username>/unlock")
@requires(Role.ADMIN)
def operator_unlock(username: str):
    posted(ConfirmForm)

    def unlock(s):
        operator = operators.require(s, username)
        operator.failed_logins, operator.locked_until = 0, None
        operators.audit(s, "operator_unlock", by=current_operator(), target=operator.username)
    return _change(unlock, "{} unlocked.", username)


def _refused(form):
    """Back to the operators page, saying why the form was refused."""
    flash(form.first_error(), "error")
    return redirect(url_for("console.operators"))


def _change(change, message: str, username: str):
    """Run `change(session)`; flash `message` (with the username) or the
    account rule it broke; back to the operators page."""
    try:
        with services().db.session() as s:
            change(s)
    except operators.OperatorError as exc:
        flash(str(exc), "error")
    else:
        flash(message.format(operators.normalize_username(username)))
    return redirect(url_for("console.operators"))
