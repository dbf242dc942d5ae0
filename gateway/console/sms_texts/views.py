"""The SMS texts editor: /admin/sms ... (the same workflow as menus)."""
from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request

from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.common import docview, documents
from gateway.console.common.docview import DocContext
from gateway.console.common.forms import posted
from gateway.console.common.roundtrip import FormError
from gateway.console.present import group_problems
from gateway.console.sms_texts import texts as sms_texts
from gateway.console.sms_texts.forms import KindForm, KindLintForm
from gateway.operators.models import Role
from gateway.sms.texts import SMS_TEXTS
from menus.lint import errors


def _ctx() -> DocContext:
    """The SMS texts as a console document (the shipped file until one is published)."""
    return DocContext("sms", SMS_TEXTS, "SMS texts", sms_texts.document(services().sms_texts),
                      default=sms_texts.shipped_source(), order=sms_texts.kinds, show="console.sms",
                      item=("kind", "kind"), item_noun="message")


def _working(ctx: DocContext) -> documents.Working:
    with services().db.session() as s:
        return documents.working(s, SMS_TEXTS, ctx.default)


@bp.get("/sms")
@requires(Role.VIEWER)
def sms():
    ctx = _ctx()
    working = _working(ctx)
    problems = ctx.doc.lint(working.source)
    return render_template("console/sms.html", doc=ctx, working=working, items=sms_texts.preview(working.source),
                           groups=group_problems(problems, sms_texts.kinds(working.source)),
                           n_errors=len(errors(problems)))


@bp.get("/sms/kinds/<kind>")
@requires(Role.VIEWER)
def sms_kind(kind: str):
    return _kind_page(_ctx(), kind)


@bp.post("/sms/kinds/<kind>")
@requires(Role.EDITOR)
def sms_kind_save(kind: str):
    ctx = _ctx()
    fields = posted(KindForm).texts()
    with services().db.session() as s:
        working = documents.working(s, SMS_TEXTS, ctx.default)
        try:
            source = sms_texts.apply(working.source, kind, fields)
        except FormError as exc:
            s.rollback()
            return _kind_page(ctx, kind, form_error=str(exc), submitted=fields, status=400)
        problems = documents.save_draft(s, ctx.doc, source, by=current_operator(), what=f"message {kind}")
    docview.flash_saved(problems)
    return redirect(ctx.url("kind", kind=kind))


def _kind_page(ctx: DocContext, kind: str, *, form_error=None, submitted=None, status: int = 200):
    working = _working(ctx)
    try:
        view = sms_texts.kind_view(working.source, kind)
    except (KeyError, TypeError, AttributeError):
        abort(404)
    mine = [p for p in ctx.doc.lint(working.source) if p.screen == kind]
    item = next((i for i in sms_texts.preview(working.source) if i["kind"] == kind), None)
    return render_template("console/sms_kind.html", doc=ctx, working=working, view=view, item=item,
                           groups=group_problems(mine), form_error=form_error,
                           submitted=submitted or {}), status


@bp.post("/sms/lint")
@requires(Role.VIEWER)
def sms_lint():
    ctx = _ctx()
    form = posted(KindLintForm)
    if not form.sent("kind") or form.sent("source"):
        return docview.lint_json(ctx, form)
    kind = form.kind.data
    try:
        source = sms_texts.apply(_working(ctx).source, kind, form.texts())
    except FormError as exc:
        return jsonify(docview.form_error_payload(ctx, str(exc)))
    payload = docview.lint_payload(ctx, source)
    mine = [p for p in ctx.doc.lint(source) if p.screen == kind]
    payload["html"] = render_template("console/_lint.html", groups=group_problems(mine), doc=ctx)
    payload["others"] = payload["errors"] + payload["warnings"] - len(mine)
    item = next((i for i in sms_texts.preview(source) if i["kind"] == kind), None)
    payload["preview_html"] = render_template("console/_sms_pages.html", items=[item] if item else [], doc=ctx)
    return jsonify(payload)


@bp.get("/sms/preview")
@requires(Role.VIEWER)
def sms_preview():
    ctx = _ctx()
    version = request.args.get("version", type=int)
    if version is None:
        working = _working(ctx)
        source, label = working.source, ("draft" if working.draft else "in service")
    else:
        with services().db.session() as s:
            try:
                source = documents.version_row(s, SMS_TEXTS, version).source
            except LookupError:
                abort(404)
        label = f"version {version}"
    return render_template("console/sms_preview.html", doc=ctx, items=sms_texts.preview(source), label=label)


@bp.get("/sms/yaml")
@requires(Role.VIEWER)
def sms_yaml():
    return docview.yaml_page(_ctx())


@bp.post("/sms/yaml")
@requires(Role.EDITOR)
def sms_yaml_save():
    return docview.yaml_save(_ctx())


@bp.post("/sms/publish")
@requires(Role.EDITOR)
def sms_publish():
    return docview.publish(_ctx())


@bp.post("/sms/discard")
@requires(Role.EDITOR)
def sms_discard():
    return docview.discard(_ctx())


@bp.get("/sms/versions")
@requires(Role.VIEWER)
def sms_versions():
    return docview.versions_page(_ctx())


@bp.get("/sms/versions/<int:version>")
@requires(Role.VIEWER)
def sms_version(version: int):
    return docview.version_page(_ctx(), version)


@bp.get("/sms/diff")
@requires(Role.VIEWER)
def sms_diff():
    ctx = _ctx()
    if request.args.get("a") is None and request.args.get("b") is None:
        with services().db.session() as s:
            if sms_texts.head(s) is None:  # nothing published: compare with the shipped file
                return redirect(ctx.url("diff", a="shipped", b="draft"))
    return docview.diff_page(ctx)


@bp.post("/sms/rollback/<int:version>")
@requires(Role.EDITOR)
def sms_rollback(version: int):
    return docview.rollback(_ctx(), version)
