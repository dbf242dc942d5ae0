"""Views shared by the menu editor and the SMS texts editor: raw YAML,
lint as JSON, publish, discard, versions, one version, diff, rollback.

`menus.views` and `sms_texts.views` bind these to their routes with a
`DocContext` that names the document, its endpoints and its lint/announce
behaviour. Each POST goes through its form (`common.forms`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from gateway.console.auth import current_operator, services
from gateway.console.common import documents
from gateway.console.common.documents import Document, DocumentError
from gateway.console.common.forms import ConfirmForm, PublishForm, SourceForm, posted
from gateway.console.present import diff_lines, group_problems, problem_dict
from gateway.ussd import menustore
from menus.lint import errors


@dataclass
class DocContext:
    kind: str                      # "menu" or "sms": endpoints are console.<kind>_<action>
    name: str                      # the document's name
    title: str                     # shown in headings
    doc: Document
    args: dict = field(default_factory=dict)
    default: str | None = None     # the source when nothing is published (shipped SMS texts)
    order: Callable[[str], list[str]] = lambda source: []  # group order for lint problems

    show: str | None = None        # the overview's endpoint, when not console.<kind>_show
    item: tuple = ("screen", "sid")  # the per-item editor: (action, its argument name)
    item_noun: str = "screen"

    def item_url(self, key: str | None) -> str | None:
        if key is None:
            return None
        action, arg = self.item
        return self.url(action, **{arg: key})

    def url(self, action: str, **kwargs) -> str:
        endpoint = self.show if action == "show" and self.show else f"console.{self.kind}_{action}"
        return url_for(endpoint, **self.args, **kwargs)


def _working(ctx: DocContext) -> documents.Working:
    with services().db.session() as s:
        try:
            return documents.working(s, ctx.name, ctx.default)
        except LookupError:
            abort(404)


def lint_payload(ctx: DocContext, source: str) -> dict:
    """What the as-you-type lint answers for `source`: problems, counts, HTML."""
    problems = ctx.doc.lint(source)
    groups = group_problems(problems, ctx.order(source))
    return {"problems": [problem_dict(p) for p in problems], "errors": len(errors(problems)),
            "warnings": len(problems) - len(errors(problems)),
            "html": render_template("console/_lint.html", groups=groups, doc=ctx)}


def yaml_page(ctx: DocContext):
    """The raw YAML of the draft (or the head) in a textarea, with its lint."""
    working = _working(ctx)
    problems = ctx.doc.lint(working.source)
    return render_template("console/doc_yaml.html", doc=ctx, working=working, source=working.source,
                           groups=group_problems(problems, ctx.order(working.source)))


def yaml_save(ctx: DocContext):
    """Save the posted YAML as the draft (lint errors allowed in a draft)."""
    _working(ctx)  # 404 for a document that does not exist
    source = posted(SourceForm).text()
    with services().db.session() as s:
        problems = documents.save_draft(s, ctx.doc, source, by=current_operator(), what="YAML")
    flash_saved(problems)
    return redirect(ctx.url("yaml"))


def flash_saved(problems) -> None:
    n = len(errors(problems))
    if n:
        flash(f"Draft saved with {n} lint error(s): it cannot be published until they are fixed.", "warning")
    else:
        flash("Draft saved. Lint is clean." if not problems else
              f"Draft saved. Lint: {len(problems)} warning(s).")


def lint_json(ctx: DocContext, form: SourceForm):
    """Lint the posted YAML (`source`), or the working source when none was
    posted, without saving anything."""
    source = form.text() if form.sent("source") else _working(ctx).source
    return jsonify(lint_payload(ctx, source))


def form_error_payload(ctx: DocContext, message: str) -> dict:
    return {"problems": [], "errors": 1, "warnings": 0, "form_error": message,
            "html": render_template("console/_lint.html", groups=[], doc=ctx, form_error=message)}


def publish(ctx: DocContext):
    """Publish the draft with the posted note; back to the versions, or to the
    document with the reason it cannot be published."""
    note = posted(PublishForm).note.data
    try:
        row, warning = documents.publish(services().db, ctx.doc, by=current_operator(), note=note)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(ctx.url("show"))
    except IntegrityError:
        flash("Someone published at the same moment: look at the versions, then try again.", "error")
        return redirect(ctx.url("versions"))
    flash(f"Published {ctx.title} version {row.version}. New sessions get it now; "
          f"sessions in progress finish on the version they started with.")
    if warning:
        flash(warning, "warning")
    return redirect(ctx.url("versions"))


def discard(ctx: DocContext):
    """Drop the draft (the head stays in service)."""
    posted(ConfirmForm)
    with services().db.session() as s:
        done = documents.discard_draft(s, ctx.doc, by=current_operator())
    flash("Draft discarded." if done else "There was no draft.")
    return redirect(ctx.url("show"))


def rollback(ctx: DocContext, version: int):
    """Put `version` back in service for new sessions; 404 when it does not exist."""
    posted(ConfirmForm)
    try:
        warning = documents.rollback(services().db, ctx.doc, version, by=current_operator())
    except LookupError:
        abort(404)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(ctx.url("versions"))
    flash(f"Rolled back: {ctx.title} version {version} is in service for new sessions.")
    if warning:
        flash(warning, "warning")
    return redirect(ctx.url("versions"))


def versions_page(ctx: DocContext):
    with services().db.session() as s:
        rows = list(reversed(menustore.versions(s, ctx.name)))
        head = menustore.head(s, ctx.name)
        working = documents.working(s, ctx.name, ctx.default) if rows or ctx.default else None
    return render_template("console/doc_versions.html", doc=ctx, rows=rows, head=head, working=working)


def version_page(ctx: DocContext, version: int):
    with services().db.session() as s:
        try:
            row = documents.version_row(s, ctx.name, version)
        except LookupError:
            abort(404)
        head = menustore.head(s, ctx.name)
    return render_template("console/doc_version.html", doc=ctx, row=row, head=head)


def _side(ctx: DocContext, s, which: str) -> tuple[str, str]:
    """(label, source) of a diff side: a version number, "draft", "head" or "shipped"."""
    if which == "draft":
        working = documents.working(s, ctx.name, ctx.default)
        return ("draft" if working.draft else "draft (none: head)"), working.source
    if which == "shipped" and ctx.default is not None:
        return "shipped file", ctx.default
    if which == "head":
        head = menustore.head(s, ctx.name)
        if head is None and ctx.default is not None:
            return "shipped file (in service)", ctx.default
        if head is None:
            raise LookupError("head")
        which = str(head)
    if not which.isdigit():
        raise LookupError(which)
    return f"version {which}", documents.version_row(s, ctx.name, int(which)).source


def diff_page(ctx: DocContext):
    a, b = request.args.get("a", "head"), request.args.get("b", "draft")
    with services().db.session() as s:
        try:
            (label_a, old), (label_b, new) = _side(ctx, s, a), _side(ctx, s, b)
        except LookupError:
            abort(404)
        choices = [str(r.version) for r in reversed(menustore.versions(s, ctx.name))]
    return render_template("console/doc_diff.html", doc=ctx, a=a, b=b, label_a=label_a, label_b=label_b,
                           lines=diff_lines(old, new, label_a, label_b), choices=choices)
