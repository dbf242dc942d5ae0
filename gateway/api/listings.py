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

from flask import jsonify, request
from sqlalchemy import func, select

from gateway.market import service as market
from gateway.api.blueprint import bp, services
from gateway.api.errors import ApiError
from gateway.market.models import District, Listing, ListingStatus, Producer, Product

LIMIT_DEFAULT, LIMIT_MAX = 20, 100
_CURSOR_VERSION = "l1"
_TEXT_PARAM_MAX = 40
_INT_MAX = 2**31 - 1


def iso(moment: datetime | None) -> str | None:
    """A UTC time as ISO 8601 with a Z, to the second."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def encode_cursor(last_id: int) -> str:
    raw = f"{_CURSOR_VERSION}:{last_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues after; ApiError 400 for anything we did not issue."""
    try:
        if len(cursor) > 40:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, _, value = raw.partition(":")
        if version != _CURSOR_VERSION or not value.isdigit() or not 0 < int(value) <= _INT_MAX:
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "invalid_cursor", "cursor is not one this API returned",
                       field="cursor") from None


def int_param(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, "invalid_parameter",
                       f"{name} must be a whole number from {low} to {high}", field=name)
    return int(raw)


def text_param(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > _TEXT_PARAM_MAX:
        raise ApiError(400, "invalid_parameter", f"{name} is too long", field=name)
    return raw.strip()


def listing_json(listing: Listing, product: Product, district: str) -> dict:
    return {
        "code": listing.code,
        "product": {"code": product.code, "name": product.name_en},
        "grade": listing.grade,
        "quantity": listing.quantity,
        "unit": str(product.unit),
        "unit_price": listing.unit_price,
        "currency": "RWF",
        "district": district,
        "updated_at": iso(listing.updated_at),
    }


@bp.get("/listings")
def list_listings():
    limit = int_param("limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    min_quantity = int_param("min_quantity", None, 0, _INT_MAX)
    product, district = text_param("product"), text_param("district")
    cursor = request.args.get("cursor")
    after = decode_cursor(cursor) if cursor else None

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
    return jsonify({"data": [listing_json(*row) for row in page], "next_cursor": next_cursor})


def product_json(product: Product) -> dict:
    names = {"rw": product.name_rw, "en": product.name_en, "fr": product.name_fr}
    grades = [{"code": grade["code"],
               "names": {lang: grade.get(f"name_{lang}") or grade.get("name_en") or grade["code"]
                         for lang in ("rw", "en", "fr")}}
              for grade in product.grades or []]
    return {"code": product.code, "names": names, "unit": str(product.unit), "grades": grades,
            "reference_price": product.reference_price, "currency": "RWF"}


@bp.get("/products")
def list_products():
    with services().db.session() as s:
        data = [product_json(product) for product in market.products(s)]
    return jsonify({"data": data})
