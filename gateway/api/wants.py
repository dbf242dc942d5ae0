"""Wants (buy requests) through the API: post (idempotent), list your key's
own, read one, close or fulfil.

A want posted here is matched like one posted by USSD, in a job after the
commit (`gateway.market.want_jobs`): sellers whose listings already match
are told by SMS, and each listing put on sale later that matches is recorded
on the want (`matches`). With a `phone`, that number gets an SMS for each
match too; without one, nothing is sent: there is no webhook event for a
match, the client reads `matches` (GET /wants).

Idempotency as for orders: `Idempotency-Key` is required on `POST /wants`
and scoped to the key (`"api:<key id>:want:<header>"`); a repeat with the
same body answers 201 with the first want, a different body is a 422.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import jsonify, url_for
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.api import outputs, validation
from gateway.api.blueprint import api_key_id, bp, services
from gateway.api.errors import ApiError
from gateway.api.inputs import WantHeaders, WantPath, WantRequest, WantsQuery
from gateway.api.listings import iso, keyset_page, own_newest_first
from gateway.market import want_jobs, wants
from gateway.market.models import District, Listing, Producer, Product
from gateway.market.rules import InvalidInput
from gateway.market.want_models import Want, WantMatch

log = logging.getLogger(__name__)

WANT_CURSOR = "w1"
MATCHES_SHOWN = 20
# The service's own checks by the field they name.
_FIELD_OF_CODE = {"invalid_grade": "grade", "invalid_valid_until": "valid_until",
                  "invalid_quantity": "quantity", "invalid_price": "max_price",
                  "invalid_phone": "phone"}


# --- the answer -----------------------------------------------------------------


def wants_json(s: Session, rows: list[Want]) -> list[dict]:
    """The wants as the API shows them, with their matches: three queries
    for the whole page (products, districts, matches), not three per want."""
    ids = [want.id for want in rows]
    products = {p.id: p for p in s.scalars(select(Product).where(
        Product.id.in_({want.product_id for want in rows})))} if rows else {}
    names = dict(s.execute(select(District.id, District.name)).all()) if rows else {}
    matches: dict[int, list[outputs.WantMatch]] = {want_id: [] for want_id in ids}
    if ids:
        found = s.execute(
            select(WantMatch.want_id, Listing.code, Listing.unit_price, Producer.district_id,
                   WantMatch.created_at)
            .join(Listing, Listing.id == WantMatch.listing_id)
            .join(Producer, Producer.id == Listing.producer_id)
            .where(WantMatch.want_id.in_(ids)).order_by(WantMatch.id))
        for want_id, code, price, district_id, at in found:
            if len(matches[want_id]) < MATCHES_SHOWN:
                matches[want_id].append(outputs.WantMatch(
                    listing=code, unit_price=price, district=names.get(district_id, ""),
                    matched_at=iso(at)))
    return [_one(want, products[want.product_id], names, matches[want.id]) for want in rows]


def _one(want: Want, product: Product, names: dict, matches: list) -> dict:
    return outputs.Want(
        id=want.id, status=want.status,
        product=outputs.ProductRef(code=product.code, name=product.name_en), grade=want.grade,
        quantity=want.quantity, unit=product.unit, max_price=want.max_price, currency="RWF",
        district=names.get(want.district_id) if want.district_id else None, phone=want.phone,
        created_at=iso(want.created_at), expires_at=iso(want.expires_at),
        closed_at=iso(want.closed_at), matches=matches,
    ).model_dump(mode="json")


def _own_want(s: Session, raw_id: str) -> Want:
    """The want with this id posted with the caller's key; 404 for any other
    (another key's, or an id that is not one), so ids cannot be probed."""
    try:
        wanted = WantPath.model_validate({"id": raw_id}).id
    except ValidationError:
        wanted = None
    want = s.get(Want, wanted) if wanted else None
    if want is None or want.api_key_id != api_key_id():
        raise ApiError(404, "not_found", "no such want")
    return want


def _product(s: Session, code: str) -> Product:
    product = s.scalar(select(Product).where(Product.code == code, Product.active.is_(True)))
    if product is None:
        raise ApiError(422, "invalid_product", "no product with this code is on sale",
                       field="product")
    return product


def _district(s: Session, name: str | None) -> int | None:
    if name is None:
        return None
    found = s.scalar(select(District.id).where(func.lower(District.name) == name.lower()))
    if found is None:
        raise ApiError(422, "invalid_district", "no district with this name", field="district")
    return found


def _same_request(s: Session, want: Want, wanted: WantRequest) -> bool:
    """True when `want` is what `wanted` would have posted (its expiry aside
    when none was sent: the default runs from the first call)."""
    product = s.get(Product, want.product_id)
    district = s.get(District, want.district_id) if want.district_id else None
    until = int(want.expires_at.timestamp()) if wanted.valid_until is not None else None
    return ((product.code, want.grade, want.quantity, want.max_price,
             district.name.lower() if district else None, want.phone, str(want.language), until)
            == (wanted.product, wanted.grade, wanted.quantity, wanted.max_price,
                wanted.district.lower() if wanted.district else None, wanted.phone,
                wanted.language, wanted.valid_until))


def _posted(body: dict):
    return jsonify(body), 201, {"Location": url_for("api.get_want", id=body["id"])}


# --- routes ---------------------------------------------------------------------


@bp.post("/wants")
def create_want():
    key = validation.headers(WantHeaders).idempotency_key
    wanted = validation.body(WantRequest)
    scoped = f"api:{api_key_id()}:want:{key}"
    svc = services()
    with svc.db.session() as s:
        product, district_id = _product(s, wanted.product), _district(s, wanted.district)
        until = (datetime.fromtimestamp(wanted.valid_until, tz=timezone.utc)
                 if wanted.valid_until is not None else None)
        try:
            want, new = wants.post_want(
                s, product_id=product.id, grade=wanted.grade, quantity=wanted.quantity,
                max_price=wanted.max_price, district_id=district_id, api_key_id=api_key_id(),
                phone=wanted.phone, language=wanted.language, channel="api", expires_at=until,
                idem_key=scoped)
        except InvalidInput as exc:
            raise ApiError(422, exc.code, exc.message,
                           field=_FIELD_OF_CODE.get(exc.code, "body")) from None
        if not new and not _same_request(s, want, wanted):
            raise ApiError(422, "idempotency_key_reused",
                           "this Idempotency-Key was already used with a different request")
        body = wants_json(s, [want])[0]
    if new:
        _enqueue(want.id)
    return _posted(body)


def _enqueue(want_id: int) -> None:
    """After commit. A failure leaves the want unmatched for the periodic catch-up."""
    try:
        want_jobs.enqueue_want(services().redis, want_id)
    except Exception:
        log.exception("could not queue the matching of want %s (the periodic tick will)", want_id)


@bp.get("/wants")
def list_wants():
    """The key's own wants, newest first; keyset pages on the want id."""
    params = validation.query(WantsQuery)
    query = own_newest_first(Want, api_key_id(), params, WANT_CURSOR)
    if params.product is not None:
        query = query.join(Product, Product.id == Want.product_id).where(Product.code == params.product)
    with services().db.session() as s:
        page, next_cursor = keyset_page(list(s.scalars(query)), params.limit, WANT_CURSOR)
        answer = {"data": wants_json(s, page), "next_cursor": next_cursor}
    return jsonify(outputs.WantPage.model_validate(answer).model_dump(mode="json"))


@bp.get("/wants/<id>")
def get_want(id: str):  # noqa: A002 (the route's parameter, as in the document)
    with services().db.session() as s:
        body = wants_json(s, [_own_want(s, id)])[0]
    return jsonify(body)


@bp.post("/wants/<id>/close")
def close_want(id: str):  # noqa: A002
    return _end(id, fulfilled=False)


@bp.post("/wants/<id>/fulfil")
def fulfil_want(id: str):  # noqa: A002
    return _end(id, fulfilled=True)


def _end(want_id: str, *, fulfilled: bool):
    """Close the key's own open want; 409 `want_closed` (with its `status`)
    when it is no longer open."""
    with services().db.session() as s:
        want = _own_want(s, want_id)
        try:
            wants.close_want(s, want, fulfilled=fulfilled)
        except wants.WantClosed as exc:
            s.commit()  # a want found past its date is recorded expired
            raise ApiError(409, "want_closed", f"the want is already {exc.status}",
                           status=exc.status) from None
        body = wants_json(s, [want])[0]
    return jsonify(body)

