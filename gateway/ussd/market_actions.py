"""The actions of *Prices*, *Alerts* and the sell journey's market line.

Registered with the others in `gateway.ussd.actions.REGISTRY`; each takes
the hop's `ActionEnv` and the session's values and returns
`(outcome, values)`, as every action does (see that module). The figures
come from `gateway.orders.prices`, through the few seconds' cache of
`gateway.ussd.price_cache`; subscriptions from `gateway.market.alerts`.
"""
from __future__ import annotations

from gateway.market import alerts
from gateway.market import service as market
from gateway.market.models import District
from gateway.orders import prices
from gateway.ussd import price_cache

Result = tuple[str, dict]


def _figures(env, values: dict) -> tuple[prices.Figures, str]:
    """The chosen product's figures, seen from the caller's district, and
    that district's name; the figures at most `price_cache.TTL_SECONDS` old."""
    s = env.session
    product = market.get_product(s, int(values["product"]))
    district_id = int(values["district"]) if str(values.get("district", "")).isdigit() else None
    district = s.get(District, district_id) if district_id is not None else None
    figures = price_cache.figures(env.redis, s, product, district.id if district else None)
    return figures, district.name if district else ""


def market_prices(env, values: dict) -> Result:
    """*Prices* → product: which figures exist (`full`, `offers`, `sales`,
    `none`) and their values."""
    figures, area = _figures(env, values)
    return prices.screen_values(figures, area)


def market_now(env, values: dict) -> Result:
    """The sell journey's price screen: `market` with the offers' median
    and range when any are on sale, else `none` (the plain screen)."""
    figures, area = _figures(env, values)
    outcome, shown = prices.screen_values(figures, area)
    return ("market" if outcome in ("full", "offers") else "none"), shown


def subscribe_alert(env, values: dict) -> Result:
    """*Alert me*: subscribe the caller to the product's price (again: no-op)."""
    product = market.get_product(env.session, int(values["product"]))
    alerts.subscribe(env.session, int(values["producer_id"]), product)
    return "ok", {}


def unsubscribe_alert(env, values: dict) -> Result:
    """Remove the alert chosen in *Alerts*; one already gone is fine too."""
    alerts.unsubscribe(env.session, int(values["producer_id"]), int(values["alert"]))
    return "ok", {}


REGISTRY = {
    "market_prices": (market_prices, frozenset({"full", "offers", "sales", "none"})),
    "market_now": (market_now, frozenset({"market", "none"})),
    "subscribe_alert": (subscribe_alert, frozenset({"ok"})),
    "unsubscribe_alert": (unsubscribe_alert, frozenset({"ok"})),
}
