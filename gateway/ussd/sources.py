"""List sources the menus may name: the items a `list` screen offers.

Districts and the catalogue change rarely and are read on many hops, so they
are cached in process: districts for a short while; the product list for as
long as the catalogue's version (`gateway.market.catalogue.version`, one
primary-key read, only on hops that show products) is the one it was loaded
at, so an operator's change reaches every process on its next such hop,
whatever Redis it has. A producer's listings are always read fresh. Each
source declares the longest label it produces, which the linter uses to
measure pages. Units are shown in the session's language, as the SMS write
them (`units` in gateway/data/sms.yaml: kg, igice, pc, pce), never as the
code's "piece".
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from sqlalchemy.orm import Session

from gateway.market import alerts, catalogue
from gateway.market import service as market
from gateway.market import wants
from gateway.market.models import District, Listing, Producer
from gateway.orders import service as orders
from gateway.sms import texts as smstexts
from menus.engine import Item

CACHE_SECONDS = 30.0
_VERSION_INFO_KEY = "isoko.catalogue_version"  # Session.info: the version this hop read
# Longest label each source produces (the linter's worst case).
MAX_LABEL = {"districts": 12, "products": 20, "grades": 16, "my_listings": 36,
             "offers": 36, "orders_to_answer": 36, "my_orders": 36, "my_alerts": 20, "my_wants": 36}


class Sources:
    """Items for list screens, read through a lazily opened SQL session."""

    def __init__(self) -> None:
        self._cache: dict[tuple, tuple[float, list[Item]]] = {}
        self._products: dict[str, tuple[int, list[Item]]] = {}  # lang -> (catalogue version, items)
        self._lock = threading.Lock()

    def items(self, open_session: Callable[[], Session], name: str, values: dict,
              lang: str) -> list[Item]:
        """The items of source `name`; unknown names give no items.
        `open_session` gives the hop's SQL session; it is not called for a
        list served from this process's cache (the districts)."""
        fetch = _FETCH.get(name)
        if fetch is None:
            return []
        if name == "products":
            return self._catalogue(open_session(), lang)
        if name == "districts":
            return self._cached((name, lang), lambda: fetch(open_session(), values, lang))
        return fetch(open_session(), values, lang)

    def _catalogue(self, session: Session, lang: str) -> list[Item]:
        """The product list as of the catalogue's current version. The version
        is read before the products: a change committed in between is stored
        under the older number and reloaded on the next hop, never missed.
        It is read once per hop (the hop's session keeps it), however many
        times the engine asks for the list."""
        current = session.info.get(_VERSION_INFO_KEY)
        if current is None:
            current = session.info[_VERSION_INFO_KEY] = catalogue.version(session)
        hit = self._products.get(lang)
        if hit and hit[0] == current:
            return hit[1]
        items = _products(session, {}, lang)
        with self._lock:
            self._products[lang] = (current, items)
        return items

    def _cached(self, key: tuple, load: Callable[[], list[Item]]) -> list[Item]:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        items = load()
        with self._lock:
            self._cache[key] = (now, items)
        return items


def _districts(s: Session, values: dict, lang: str) -> list[Item]:
    return [Item(str(d.id), d.name[:MAX_LABEL["districts"]]) for d in market.districts(s)]


def _unit(s: Session, unit, lang: str) -> str:
    """How `unit` is written after a number in `lang` (the published SMS texts' units)."""
    return smstexts.unit_label(str(unit), lang, smstexts.published(s))


def _products(s: Session, values: dict, lang: str) -> list[Item]:
    return [Item(str(p.id), p.name(lang)[:MAX_LABEL["products"]],
                 {"unit": _unit(s, p.unit, lang), "ref": p.reference_price})
            for p in market.products(s)]


def _grades(s: Session, values: dict, lang: str) -> list[Item]:
    try:
        product = market.get_product(s, int(values["product"]))
    except (KeyError, ValueError, market.MarketError):
        return []
    return [Item(g["code"], product.grade_name(g["code"], lang)[:MAX_LABEL["grades"]])
            for g in product.grades]


def _my_listings(s: Session, values: dict, lang: str) -> list[Item]:
    producer_id = values.get("producer_id")
    if not producer_id:
        return []
    items, products = [], {}
    for listing in market.listings_of(s, int(producer_id)):
        if listing.product_id not in products:
            products[listing.product_id] = market.get_product(s, listing.product_id)
        product = products[listing.product_id]
        name, unit = product.name(lang), _unit(s, product.unit, lang)
        label = f"{listing.code} {name} {listing.quantity:,} {unit}"[:MAX_LABEL["my_listings"]]
        items.append(Item(str(listing.id), label, {
            "code": listing.code, "quantity": listing.quantity, "price": listing.unit_price,
            "unit": unit}))
    return items


def _offers(s: Session, values: dict, lang: str) -> list[Item]:
    """Active listings of the chosen product, cheapest first, not the caller's own."""
    try:
        product = market.get_product(s, int(values["product"]))
    except (KeyError, ValueError, market.MarketError):
        return []
    names = {d.id: d.name for d in market.districts(s)}
    unit = _unit(s, product.unit, lang)
    items = []
    for listing, district_id in market.offers(s, product.id, exclude_producer=values.get("producer_id")):
        district = names.get(district_id, "")
        grade = product.grade_name(listing.grade, lang) if listing.grade else ""
        label = " ".join(part for part in (f"{listing.unit_price:,} RWF", f"{listing.quantity:,} {unit}",
                                           listing.grade or "", district) if part)
        items.append(Item(str(listing.id), label[:MAX_LABEL["offers"]], {
            "price": listing.unit_price, "quantity": listing.quantity, "unit": unit,
            "district": district, "grade": grade, "code": listing.code}))
    return items


def listing_offer_values(s: Session, listing: Listing, lang: str) -> dict:
    """What the buy screens show for a listing opened from its dial string:
    the same values a choice on the offers list sets (product, offer_*)."""
    product = market.get_product(s, listing.product_id)
    district = s.get(District, s.get(Producer, listing.producer_id).district_id).name
    grade = product.grade_name(listing.grade, lang) if listing.grade else ""
    return {"product": str(product.id), "product_label": product.name(lang)[:MAX_LABEL["products"]],
            "product_unit": _unit(s, product.unit, lang), "offer": str(listing.id),
            "offer_price": listing.unit_price, "offer_quantity": listing.quantity,
            "offer_unit": _unit(s, product.unit, lang),
            "offer_district": district[:MAX_LABEL["districts"]], "offer_grade": grade,
            "offer_code": listing.code}


def _my_wants(s: Session, values: dict, lang: str) -> list[Item]:
    """The caller's open wants, newest first: product, quantity, most per unit."""
    producer_id = values.get("producer_id")
    if not producer_id:
        return []
    items, products = [], {}
    for want in wants.open_wants_of(s, int(producer_id)):
        if want.product_id not in products:
            products[want.product_id] = market.get_product(s, want.product_id)
        product = products[want.product_id]
        label = f"{product.name(lang)} {want.quantity:,} {_unit(s, product.unit, lang)}"
        items.append(Item(str(want.id), label[:MAX_LABEL["my_wants"]], {"max": want.max_price}))
    return items


def order_values(s: Session, order, lang: str) -> dict:
    """What the order screens show, the same whether reached from the list or the dial string."""
    product = market.get_product(s, s.get(Listing, order.listing_id).product_id)
    unit = _unit(s, product.unit, lang)
    return {"order": order.code, "order_code": order.code, "order_quantity": order.quantity,
            "order_unit": unit, "order_total": order.total,
            "order_label": f"{order.quantity:,} {unit} {product.name(lang)}"}


def party_values(s: Session, order, producer_id: int) -> dict:
    """Who the caller meets, once the order is accepted: the buyer sees the
    seller's name, number and district, the seller the buyer's name and number.
    Real numbers on the screen (the users need them); logs mask them."""
    who = orders.parties(s, order)
    if order.seller_id == producer_id:
        return {"party_name": who["buyer_name"], "party_phone": who["buyer_phone"], "party_district": ""}
    return {"party_name": who["seller_name"], "party_phone": who["seller_phone"],
            "party_district": who["seller_district"][:MAX_LABEL["districts"]]}


def _my_orders(s: Session, values: dict, lang: str) -> list[Item]:
    """The caller's orders still in play, sold or bought, newest first."""
    producer_id = values.get("producer_id")
    if not producer_id:
        return []
    items = []
    for order in orders.open_for(s, int(producer_id)):
        shown = order_values(s, order, lang)
        label = f"{order.code} {shown['order_label']}"[:MAX_LABEL["my_orders"]]
        items.append(Item(order.code, label))
    return items


def _orders_to_answer(s: Session, values: dict, lang: str) -> list[Item]:
    producer_id = values.get("producer_id")
    if not producer_id:
        return []
    items = []
    for order in orders.pending_for_seller(s, int(producer_id)):
        shown = order_values(s, order, lang)
        label = f"{order.code} {shown['order_label']}"[:MAX_LABEL["orders_to_answer"]]
        items.append(Item(order.code, label, {k[len("order_"):]: v for k, v in shown.items()
                                              if k.startswith("order_")}))
    return items


def _my_alerts(s: Session, values: dict, lang: str) -> list[Item]:
    """The caller's price alerts, by product name."""
    producer_id = values.get("producer_id")
    if not producer_id:
        return []
    return [Item(str(alert.id), product.name(lang)[:MAX_LABEL["my_alerts"]])
            for alert, product in alerts.of_producer(s, int(producer_id))]


_FETCH = {"districts": _districts, "products": _products, "grades": _grades,
          "my_listings": _my_listings, "offers": _offers, "orders_to_answer": _orders_to_answer,
          "my_orders": _my_orders, "my_alerts": _my_alerts, "my_wants": _my_wants}
