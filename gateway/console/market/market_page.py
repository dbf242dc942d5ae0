"""/admin/market/prices?product=<code>&days=30|60|90: the market as a notice board.

One product's prices per local day as a chart (reference, asking median,
accepted median: `market_figures`, drawn by `charts.lines` as inline SVG),
and for every product its open wants, how many of them were matched, and
its alert subscribers. Read-only, viewers and above.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, render_template, request

from gateway.console.auth import requires, services
from gateway.console.blueprint import bp
from gateway.console.market import charts, market_figures
from gateway.console.market.analytics import Window
from gateway.console.present import zone
from gateway.core.models import utcnow
from gateway.market import alerts, catalogue
from gateway.operators.models import Role

SERIES = [("reference", "Reference", "#1b6e4a"), ("asking", "Asking median", "#5b8def"),
          ("accepted", "Accepted median", "#f0a500")]


def _window() -> Window:
    days = request.args.get("days", type=int)
    if days not in market_figures.WINDOWS:
        days = market_figures.DEFAULT_WINDOW
    tz = zone()
    return Window(days, datetime.now(timezone.utc).astimezone(tz).date(), tz)


@bp.get("/market/prices")
@requires(Role.VIEWER)
def market_prices():
    win = _window()
    with services().db.session() as s:
        products = catalogue.all_products(s)
        if not products:
            return render_template("console/market/prices.html", product=None, products=[], rows=[],
                                   win=win, windows=market_figures.WINDOWS, chart=None)
        code = request.args.get("product") or products[0].code
        product = next((p for p in products if p.code == code), None)
        if product is None:
            abort(404, description=f"no product {code!r}")
        values = {"reference": market_figures.reference_prices(s, product.id, win, product.reference_price),
                  "asking": market_figures.asking_medians(s, product.id, win),
                  "accepted": market_figures.accepted_medians(s, product.id, win)}
        wants = market_figures.wants_per_product(s, utcnow())
        subscribers = alerts.subscribers_per_product(s)
        rows = [{"code": p.code, "name": p.name_en, "reference": p.reference_price,
                 "open_wants": wants.get(p.id, (0, 0))[0], "matched": wants.get(p.id, (0, 0))[1],
                 "subscribers": subscribers.get(p.id, 0)} for p in products]
        shown = {"code": product.code, "name": product.name_en, "unit": product.unit}
    chart = charts.lines("chart-prices", f"{shown['name']}: prices per day (RWF per {shown['unit']})",
                         win.day_keys(), SERIES, values)
    return render_template("console/market/prices.html", product=shown, products=rows, rows=rows, win=win,
                           windows=market_figures.WINDOWS, chart=chart)
