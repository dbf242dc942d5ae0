"""The catalogue's product pages: /admin/market/products/<code>.

Every operator sees a product and its reference price history; editors and
admins change its names, unit, grades, reference price and whether it is on
sale. The change goes through `gateway.market.catalogue` (the same rules as
an import) and into the audit log in the same transaction, and moves the
catalogue's version on, so every process's next product list has it. A new
reference price queues its price alerts once committed.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.market.forms import ProductForm, grades_text
from gateway.market import alert_jobs, catalogue
from gateway.market.rules import NotFound
from gateway.operators import accounts as operators
from gateway.operators.models import Role


def _page(s, code: str, form: ProductForm | None = None, problems=(), status: int = 200):
    try:
        product = catalogue.by_code(s, code)
    except NotFound:
        abort(404)
    if form is None:
        form = ProductForm(data={**catalogue.as_dict(product), "active": "yes" if product.active else "no",
                                 "grades": grades_text(product.grades), "reference_price": str(product.reference_price)})
    return render_template("console/market/product.html", product=product, form=form, problems=problems,
                           history=catalogue.history(s, product.id), units=catalogue.units(s),
                           listings=catalogue.count_listings(s, product.id),
                           can_edit=current_operator().can(Role.EDITOR)), status


@bp.get("/market/products/<code>")
@requires(Role.VIEWER)
def market_product(code: str):
    with services().db.session() as s:
        return _page(s, code)


@bp.post("/market/products/<code>")
@requires(Role.EDITOR)
def market_product_edit(code: str):
    form = ProductForm()
    if not form.validate():
        abort(400, description=form.first_error())
    op = current_operator()
    with services().db.session() as s:
        try:
            outcome = catalogue.edit(s, code, form.product_changes(), by=op.username)
        except NotFound:
            abort(404)
        except catalogue.CatalogueInvalid as exc:
            s.rollback()
            return _page(s, code, form, exc.problems, 400)
        for change in outcome.changes:
            price = " reference_price " in change
            operators.audit(s, "catalogue_price" if price else "catalogue_edit", by=op, target=code,
                            detail=change)
    alert_jobs.enqueue(services().redis, outcome.repriced)  # committed: the subscribers may hear of it
    flash(f"{code}: {len(outcome.changes)} change(s) saved." if outcome.changes else f"{code}: nothing changed.")
    return redirect(url_for("console.market_product", code=code))
