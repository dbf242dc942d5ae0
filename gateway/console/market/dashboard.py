"""The dashboard: /admin/dashboard?days=14|30 — charts, not tables.

USSD sessions per day by outcome, the drop-off funnel of each journey, orders
per day by state and the SMS delivery rate, all drawn as inline SVG on the
server (`charts`) from the counts of `analytics`.
"""
from __future__ import annotations

from flask import render_template, request

from gateway.console.auth import requires, services
from gateway.console.blueprint import bp
from gateway.console.market import analytics, charts
from gateway.console.nav import add_item
from gateway.operators.models import Role

OUTCOME_SERIES = [("finished", "Finished", "#2e7d32"), ("dropped", "Dropped", "#f0a500"),
                  ("failed", "Failed", "#c62828")]
ORDER_SERIES = [("pending", "Pending", "#5b8def"), ("accepted", "Accepted", "#2e7d32"),
                ("rejected", "Rejected", "#c62828"), ("expired", "Expired", "#9aa5a0"),
                ("cancelled", "Cancelled", "#7b4fa0")]
JOURNEY_TITLES = {"registration": "Registration", "listing": "Listing", "buying": "Buying"}


@bp.get("/dashboard")
@requires(Role.VIEWER)
def dashboard():
    win = analytics.window(request.args.get("days", type=int))
    days = win.day_keys()
    with services().db.session() as s:
        sessions = analytics.sessions_per_day(s, win)
        funnels = analytics.funnels(s, win)
        orders = analytics.orders_per_day(s, win)
        delivery = analytics.delivery_per_day(s, win)
    sent = sum(v["sent"] for v in delivery.values())
    delivered = sum(v["delivered"] for v in delivery.values())
    totals = {key: sum(v[key] for v in sessions.values()) for key, _, _ in OUTCOME_SERIES}
    charts_ = {
        "sessions": charts.stacked_bars("chart-sessions", "USSD sessions per day by outcome", days,
                                        OUTCOME_SERIES, sessions),
        "funnels": [(JOURNEY_TITLES[name], charts.funnel(f"chart-funnel-{name}",
                                                         f"{JOURNEY_TITLES[name]}: last screen of each session",
                                                         steps, OUTCOME_SERIES))
                    for name, steps in funnels.items()],
        "orders": charts.stacked_bars("chart-orders", "Orders per day by state", days, ORDER_SERIES, orders),
        "delivery": charts.line("chart-delivery", "SMS delivery rate per day", days,
                                {d: analytics.rate(v["delivered"], v["sent"]) for d, v in delivery.items()},
                                label="Delivered / sent"),
    }
    return render_template("console/dashboard.html", win=win, windows=analytics.WINDOWS, charts=charts_,
                           totals=totals, sent=sent, delivered=delivered,
                           delivery_rate=analytics.rate(delivered, sent),
                           orders_total=sum(sum(v.values()) for v in orders.values()))


add_item("Dashboard", "console.dashboard")
