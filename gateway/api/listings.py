"""`GET /api/v1/listings` and `GET /api/v1/products`: what is on sale.

Listings come newest first and page with an opaque cursor (keyset on the
listing id, never OFFSET): a page costs the same at any depth, and a listing
added or sold while a client pages neither shifts nor repeats the others.
The seller's phone and name are never shown: a buyer orders by listing code.
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

from flask import jsonify
from sqlalchemy import func, select

from gateway.api import outputs, validation
from gateway.api.blueprint import bp, services
from gateway.api.errors import ApiError
from gateway.api.inputs import INT_MAX, ListingsQuery
from gateway.market import service as market
from gateway.market.models import District, Listing, ListingStatus, Producer, Product

_CURSOR_VERSION = "l1"


def iso(moment: datetime | None) -> str | None:
    """A UTC time as ISO 8601 with a Z, to the second."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def encode_cursor(last_id: int, version: str = _CURSOR_VERSION) -> str:
    raw = f"{version}:{last_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, expected: str = _CURSOR_VERSION) -> int:
    """The id a cursor continues after; ApiError 400 for anything we did not
    issue (a cursor of another list included: its `version` differs)."""
    try:
        if len(cursor) > 40:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, _, value = raw.partition(":")
        if version != expected or not value.isdigit() or not 0 < int(value) <= INT_MAX:
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "cursor is not one this API returned",
                       field="cursor") from None


def own_newest_first(model, key_id: int, params, cursor_kind: str):
    """A key's own rows of `model`, newest first, after `params.cursor` (a
    cursor of `cursor_kind`), with `params.status` when given: one row more
    than `params.limit`, so `keyset_page` can tell whether a next page exists."""
    query = (select(model).where(model.api_key_id == key_id)
             .order_by(model.id.desc()).limit(params.limit + 1))
    if params.cursor:
        query = query.where(model.id < decode_cursor(params.cursor, cursor_kind))
    if params.status is not None:
        query = query.where(model.status == params.status)
    return query


def keyset_page(rows: list, limit: int, cursor_kind: str) -> tuple[list, str | None]:
    """The page of `rows` (read with one row more than `limit`) and the cursor
    of the next page, None on the last."""
    page = rows[:limit]
    return page, (encode_cursor(page[-1].id, cursor_kind) if len(rows) > limit else None)


def listing_json(listing: Listing, product: Product, district: str) -> outputs.Listing:
    return outputs.Listing(
        code=listing.code, product=outputs.ProductRef(code=product.code, name=product.name_en),
        grade=listing.grade, quantity=listing.quantity, unit=product.unit,
        unit_price=listing.unit_price, currency="RWF", district=district,
        updated_at=iso(listing.updated_at))


@bp.get("/listings")
def list_listings():
    params = validation.query(ListingsQuery)
    limit, min_quantity = params.limit, params.min_quantity
    product, district = params.product, params.district
    after = decode_cursor(params.cursor) if params.cursor else None

    query = (
        select(Listing, Product, District.name)
        .join(Product, Product.id == Listing.product_id)
        .join(Producer, Producer.id == Listing.producer_id)
        .join(District, District.id == Producer.district_id)
        .where(Listing.status == ListingStatus.ACTIVE, Listing.quantity > 0,
               Product.active.is_(True))
        .order_by(Listing.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Listing.id < after)
    if product is not None:
        query = query.where(Product.code == product)
    if district is not None:
        query = query.where(func.lower(District.name) == district.lower())
    if min_quantity is not None:
        query = query.where(Listing.quantity >= min_quantity)

    with services().db.session() as s:
        rows = s.execute(query).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    answer = outputs.ListingPage(data=[listing_json(*row) for row in page],
                                 next_cursor=next_cursor)
    return jsonify(answer.model_dump(mode="json"))


def product_json(product: Product) -> outputs.Product:
    names = outputs.Names(rw=product.name_rw, en=product.name_en, fr=product.name_fr)
    grades = [outputs.Grade(code=grade["code"], names=outputs.Names(**{
        lang: grade.get(f"name_{lang}") or grade.get("name_en") or grade["code"]
        for lang in ("rw", "en", "fr")})) for grade in product.grades or []]
    return outputs.Product(code=product.code, names=names, unit=product.unit, grades=grades,
                           reference_price=product.reference_price, currency="RWF")


@bp.get("/products")
def list_products():
    with services().db.session() as s:
        answer = outputs.ProductList(data=[product_json(product) for product in market.products(s)])
    return jsonify(answer.model_dump(mode="json"))
