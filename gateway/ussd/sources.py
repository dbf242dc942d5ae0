"""List sources the menus may name: the items a `list` screen offers.

Districts and the catalogue change rarely and are read on many hops, so they
are cached in process for a short while; a producer's listings are always read
fresh. Each source declares the longest label it produces, which the linter
uses to measure pages.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from sqlalchemy.orm import Session

from gateway import market
from menus.engine import Item

CACHE_SECONDS = 30.0
# Longest label each source produces (the linter's worst case).
MAX_LABEL = {"districts": 12, "products": 20, "grades": 16, "my_listings": 36}


class Sources:
    """Items for list screens, read through a lazily opened SQL session."""

    def __init__(self) -> None:
        self._cache: dict[tuple, tuple[float, list[Item]]] = {}
        self._lock = threading.Lock()

    def items(self, session: Session, name: str, values: dict, lang: str) -> list[Item]:
        """The items of source `name`; unknown names give no items."""
        fetch = _FETCH.get(name)
        if fetch is None:
            return []
        if name in ("districts", "products"):
            return self._cached((name, lang), lambda: fetch(session, values, lang))
        return fetch(session, values, lang)

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


def _products(s: Session, values: dict, lang: str) -> list[Item]:
    return [Item(str(p.id), p.name(lang)[:MAX_LABEL["products"]],
                 {"unit": str(p.unit), "ref": p.reference_price}) for p in market.products(s)]


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
        name = product.name(lang)
        label = f"{listing.code} {name} {listing.quantity:,}{product.unit}"[:MAX_LABEL["my_listings"]]
        items.append(Item(str(listing.id), label, {
            "code": listing.code, "quantity": listing.quantity, "price": listing.unit_price,
            "unit": str(product.unit)}))
    return items


_FETCH = {"districts": _districts, "products": _products, "grades": _grades,
          "my_listings": _my_listings}
