"""The menu editor: /admin/menus ...

Viewers see everything; editors save drafts, publish and roll back (the
buttons are hidden for viewers, and the POST routes answer them 403).
"""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request

from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.common import docview, documents
from gateway.console.common.docview import DocContext
from gateway.console.common.forms import posted
from gateway.console.menus import menudoc, preview, screenform
from gateway.console.menus.forms import MenuLintForm, screen_form
from gateway.console.present import group_problems, problem_dict
from gateway.operators.models import Role
from gateway.ussd import menustore
from menus.lint import errors
from menus.model import DefinitionError


def _order(source: str) -> list[str]:
    try:
        return [str(k) for k in (menudoc.parsed(source).get("screens") or {})]
    except (DefinitionError, AttributeError):
        return []


def _ctx(name: str) -> DocContext:
    """The menu `name` as a console document; 404 when there is no such menu."""
    with services().db.session() as s:
        if not menudoc.exists(s, name):
            abort(404)
    return DocContext("menu", name, f"menu {name}", menudoc.document(services(), name),
                      args={"name": name}, order=_order)


@bp.get("/menus")
@requires(Role.VIEWER)
def menus():
    with services().db.session() as s:
        rows = menudoc.menus_overview(s)
    return render_template("console/menus.html", rows=rows)


@bp.get("/menus/<name>")
@requires(Role.VIEWER)
def menu_show(name: str):
    ctx = _ctx(name)
    with services().db.session() as s:
        working = documents.working(s, name)
    problems = ctx.doc.lint(working.source)
    try:
        definition = menudoc.parsed(working.source)
    except DefinitionError:
        definition = {}
    screens = definition.get("screens") if isinstance(definition.get("screens"), dict) else {}
    counts: dict = {}
    for p in problems:
        counts.setdefault(p.screen, [0, 0])[p.severity != "error"] += 1
    rows = [{"id": str(sid), "type": (raw or {}).get("type") if isinstance(raw, dict) else "?",
             "errors": counts.get(str(sid), [0, 0])[0], "warnings": counts.get(str(sid), [0, 0])[1]}
            for sid, raw in screens.items()]
    return render_template("console/menu.html", doc=ctx, working=working, rows=rows,
                           groups=group_problems(problems, _order(working.source)),
                           n_errors=len(errors(problems)))


@bp.get("/menus/<name>/screens/<sid>")
@requires(Role.VIEWER)
def menu_screen(name: str, sid: str):
    return _screen_page(_ctx(name), sid)


@bp.post("/menus/<name>/screens/<sid>")
@requires(Role.EDITOR)
def menu_screen_save(name: str, sid: str):
    ctx = _ctx(name)
    fields: dict = {}
    with services().db.session() as s:
        working = documents.working(s, name)
        try:
            fields = _posted_fields(menudoc.parsed(working.source), sid)
            source = screenform.apply(working.source, sid, fields)
        except (screenform.FormError, DefinitionError) as exc:
            s.rollback()
            return _screen_page(ctx, sid, form_error=str(exc), submitted=fields, status=400)
        problems = documents.save_draft(s, ctx.doc, source, by=current_operator(), what=f"screen {sid}")
    docview.flash_saved(problems)
    return redirect(ctx.url("screen", sid=sid))


def _posted_fields(definition: dict, sid: str) -> dict[str, str]:
    """The fields of screen `sid`'s form this request posted. FormError when
    the definition has no such screen."""
    try:
        view = screenform.screen_view(definition, sid)
    except (KeyError, TypeError, AttributeError):
        raise screenform.FormError(f"there is no screen {sid!r} in the draft") from None
    return posted(screen_form(view)).changes()


def _screen_page(ctx: DocContext, sid: str, *, form_error: str | None = None, submitted=None, status: int = 200):
    with services().db.session() as s:
        working = documents.working(s, ctx.name)
    try:
        definition = menudoc.parsed(working.source)
        view = screenform.screen_view(definition, sid)
    except (DefinitionError, KeyError, TypeError):
        abort(404)
    problems = ctx.doc.lint(working.source)
    mine = [p for p in problems if p.screen == sid]
    _, screens = preview.preview(definition, menustore.CAPABILITIES, screens=[sid])
    return render_template("console/menu_screen.html", doc=ctx, working=working, view=view,
                           groups=group_problems(mine), others=len(problems) - len(mine),
                           screens=screens, form_error=form_error, submitted=submitted or {}), status


@bp.post("/menus/<name>/lint")
@requires(Role.VIEWER)
def menu_lint(name: str):
    """JSON for as-you-type linting: posted `source` (YAML), or the fields of
    screen `screen` applied to the draft. Saves nothing."""
    ctx = _ctx(name)
    form = posted(MenuLintForm)
    if not form.sent("screen") or form.sent("source"):
        return docview.lint_json(ctx, form)
    sid = form.screen.data
    with services().db.session() as s:
        working = documents.working(s, name)
    try:
        definition = menudoc.parsed(working.source)
        definition = screenform.apply_to_definition(definition, sid, _posted_fields(definition, sid))
    except (screenform.FormError, DefinitionError) as exc:
        return jsonify(docview.form_error_payload(ctx, str(exc)))
    problems = menudoc.lint_definition(name, definition)
    mine = [p for p in problems if p.screen == sid]
    n_errors = len(errors(problems))
    _, screens = preview.preview(definition, menustore.CAPABILITIES, screens=[sid])
    return jsonify({
        "problems": [problem_dict(p) for p in problems], "errors": n_errors,
        "warnings": len(problems) - n_errors, "others": len(problems) - len(mine),
        "html": render_template("console/_lint.html", groups=group_problems(mine), doc=ctx),
        "preview_html": render_template("console/_pages.html", screens=screens, doc=ctx, links=False),
    })


@bp.get("/menus/<name>/preview")
@requires(Role.VIEWER)
def menu_preview(name: str):
    ctx = _ctx(name)
    version = request.args.get("version", type=int)
    with services().db.session() as s:
        if version is not None:
            try:
                source = documents.version_row(s, name, version).source
            except LookupError:
                abort(404)
            label = f"version {version}"
        else:
            working = documents.working(s, name)
            source = working.source
            label = "draft" if working.draft else f"version {working.head} (in service)"
    try:
        definition = menudoc.parsed(source)
    except DefinitionError as exc:
        flash(str(exc), "error")
        definition = {}
    only_screen = request.args.get("screen") or None
    only_lang = request.args.get("lang") or None
    menu, screens = preview.preview(definition, menustore.CAPABILITIES,
                                    screens=[only_screen] if only_screen else None,
                                    languages=[only_lang] if only_lang else None)
    return render_template("console/menu_preview.html", doc=ctx, menu=menu, screens=screens, label=label,
                           version=version, only_screen=only_screen, only_lang=only_lang)


@bp.get("/menus/<name>/yaml")
@requires(Role.VIEWER)
def menu_yaml(name: str):
    return docview.yaml_page(_ctx(name))


@bp.post("/menus/<name>/yaml")
@requires(Role.EDITOR)
def menu_yaml_save(name: str):
    return docview.yaml_save(_ctx(name))


@bp.post("/menus/<name>/publish")
@requires(Role.EDITOR)
def menu_publish(name: str):
    return docview.publish(_ctx(name))


@bp.post("/menus/<name>/discard")
@requires(Role.EDITOR)
def menu_discard(name: str):
    return docview.discard(_ctx(name))


@bp.get("/menus/<name>/versions")
@requires(Role.VIEWER)
def menu_versions(name: str):
    return docview.versions_page(_ctx(name))


@bp.get("/menus/<name>/versions/<int:version>")
@requires(Role.VIEWER)
def menu_version(name: str, version: int):
    return docview.version_page(_ctx(name), version)


@bp.get("/menus/<name>/diff")
@requires(Role.VIEWER)
def menu_diff(name: str):
    return docview.diff_page(_ctx(name))


@bp.post("/menus/<name>/rollback/<int:version>")
@requires(Role.EDITOR)
def menu_rollback(name: str, version: int):
    return docview.rollback(_ctx(name), version)
