"""The dashboard: /admin/dashboard?days=14|30 — charts, not tables.

USSD sessions per day by outcome, the drop-off funnel of each journey, orders
per day by state and the SMS delivery rate, all drawn as inline SVG on the
server (`charts`) from the counts of `analytics`, over the console's local
days (the `TZ` zone). The funnel names each screen by its English text in
the published menu (`screen_title`), not by its id.
"""
from __future__ import annotations

import re

from flask import render_template, request

from gateway.console.auth import requires, services
from gateway.console.blueprint import bp
from gateway.console.market import analytics, charts
from gateway.console.nav import add_item
from gateway.console.present import zone
from gateway.core.models import utcnow
from gateway.operators.models import Role
from gateway.ussd import menustore
from gateway.ussd.hop import MENU
from menus.model import Menu

OUTCOME_SERIES = [("finished", "Finished", "#2e7d32"), ("dropped", "Dropped", "#f0a500"),
                  ("failed", "Failed", "#c62828"), ("active", "In progress", "#9aa5a0")]
ENDED_SERIES = [s for s in OUTCOME_SERIES if s[0] in analytics.ENDED]
ORDER_SERIES = [("pending", "Pending", "#5b8def"), ("accepted", "Accepted", "#2e7d32"),
                ("rejected", "Rejected", "#c62828"), ("expired", "Expired", "#9aa5a0"),
                ("cancelled", "Cancelled", "#7b4fa0")]
JOURNEY_TITLES = {"registration": "Registration", "listing": "Listing", "buying": "Buying"}
TITLE_LANGUAGE = "en"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def screen_title(menu: Menu | None, screen_id: str) -> str:
    """What an operator recognises a screen by: its English text — the line
    that asks (ends in ? or :), else the whole text on one line — with each
    {placeholder} shown as [placeholder]. The id when the menu has no such
    screen or no text for it."""
    screen = menu.screens.get(screen_id) if menu is not None else None
    texts = screen.text if screen is not None else {}
    text = texts.get(TITLE_LANGUAGE) or next(iter(texts.values()), "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return screen_id
    asking = [line for line in lines if line.endswith(("?", ":"))]
    title = asking[-1] if asking else " / ".join(lines)
    return _PLACEHOLDER.sub(lambda m: "[" + m.group(1).replace("_", " ") + "]", title)


def _published_menu(s) -> Menu | None:
    """The menu new sessions get, from the app's compiled-menu cache; None
    when it is not published or does not compile."""
    version = menustore.head(s, MENU)
    if version is None:
        return None
    try:
        return services().menus.get(MENU, version, lambda: menustore.definition(s, MENU, version))
    except Exception:  # a title is not worth a broken dashboard: the ids will do
        return None


@bp.get("/dashboard")
@requires(Role.VIEWER)
def dashboard():
    win = analytics.window(request.args.get("days", type=int), zone())
    days = win.day_keys()
    live = {"now": utcnow(), "session_ttl": services().settings.session_ttl_seconds}
    with services().db.session() as s:
        sessions = analytics.sessions_per_day(s, win, **live)
        funnels = analytics.funnels(s, win, **live)
        orders = analytics.orders_per_day(s, win)
        delivery = analytics.delivery_per_day(s, win)
        menu = _published_menu(s)
    sent = sum(v["sent"] for v in delivery.values())
    delivered = sum(v["delivered"] for v in delivery.values())
    totals = {key: sum(v[key] for v in sessions.values()) for key, _, _ in OUTCOME_SERIES}
    titles = {sid: screen_title(menu, sid) for steps in analytics.JOURNEYS.values() for sid in steps}
    charts_ = {
        "sessions": charts.stacked_bars("chart-sessions", "USSD sessions per day by outcome", days,
                                        OUTCOME_SERIES, sessions),
        "funnels": [(JOURNEY_TITLES[name], charts.funnel(f"chart-funnel-{name}",
                                                         f"{JOURNEY_TITLES[name]}: last screen of each session",
                                                         steps, ENDED_SERIES, labels=titles))
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
