"""Orders through the API: place (idempotent), read with history, cancel.

Idempotency: `Idempotency-Key` is required on `POST /orders` and scoped to
the API key (`idem_key = "api:<key id>:<header>"`, unique in SQL). A repeat
gets the order the first call made (200, nothing done twice). Whether a
repeat is the *same request* is decided against that order row itself: the
body has exactly four fields (unknown ones are refused) and the order stores
all four (listing, quantity, buyer name, buyer phone, after normalisation),
so the order is the request's durable fingerprint; no hash to keep in Redis
(which may be lost) or to squeeze into the 120-character key column. A key
whose first use failed (404, 409, 422) binds nothing and may be reused.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.orders import service as order_service
from gateway.core import phones
from gateway.api.blueprint import api_key_id, bp, services
from gateway.api.errors import ApiError
from gateway.api.listings import iso
from gateway.market.rules import InvalidInput, MarketError, NotFound, check_quantity
from gateway.market.models import Listing, Product
from gateway.orders.models import Order
from gateway.sms import queue as queues

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX = 100
BODY_MAX = 16 * 1024
BUYER_NAME_MAX = 64
_FIELDS = frozenset({"listing", "quantity", "buyer"})
_BUYER_FIELDS = frozenset({"name", "phone"})
_FIELD_OF_CODE = {"invalid_quantity": "quantity", "invalid_phone": "buyer.phone",
                  "invalid_name": "buyer.name"}


@dataclass(frozen=True)
class OrderRequest:
    listing: str
    quantity: int
    buyer_name: str
    buyer_phone: str | None

    def matches(self, s: Session, order: Order) -> bool:
        """True when `order` is what this request would have placed."""
        listing = s.get(Listing, order.listing_id)
        return ((listing.code, order.quantity, order.buyer_name, order.buyer_phone)
                == (self.listing, self.quantity, self.buyer_name, self.buyer_phone))


# --- reading the request --------------------------------------------------------


def idempotency_key() -> str:
    raw = request.headers.get("Idempotency-Key")
    if not raw:
        raise ApiError(400, "idempotency_key_required",
                       "send an Idempotency-Key header (1-100 printable characters)")
    if len(raw) > IDEMPOTENCY_KEY_MAX or not all(" " <= c <= "~" for c in raw):
        raise ApiError(400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1-100 printable ASCII characters")
    return raw


def json_body() -> dict:
    request.max_content_length = BODY_MAX  # a larger body is a 413 before it is read
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "malformed_json", "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    return body


def _invalid(field: str, message: str, code: str | None = None) -> ApiError:
    return ApiError(422, code or f"invalid_{field.split('.')[-1]}", message, field=field)


def _unknown(body: dict, allowed: frozenset, where: str = "") -> None:
    extra = sorted(str(name) for name in body if name not in allowed)
    if extra:
        raise _invalid(where + extra[0], f"unknown field {where}{extra[0]}", "unknown_field")


def parse_order(body: dict) -> OrderRequest:
    _unknown(body, _FIELDS)
    listing = body.get("listing")
    if not isinstance(listing, str) or not (len(listing) == 6 and listing.isascii()
                                            and listing.isdigit()):
        raise _invalid("listing", "listing must be a listing code (6 digits, as a string)")
    try:
        quantity = check_quantity(body.get("quantity"))
    except InvalidInput as exc:
        raise _invalid("quantity", exc.message) from None
    buyer = body.get("buyer")
    if not isinstance(buyer, dict):
        raise _invalid("buyer", "buyer must be an object with a name and an optional phone")
    _unknown(buyer, _BUYER_FIELDS, "buyer.")
    name = buyer.get("name")
    name = " ".join(name.split()) if isinstance(name, str) else None
    if not name or len(name) > BUYER_NAME_MAX or not name.isprintable():
        raise _invalid("buyer.name", f"buyer.name must be 1-{BUYER_NAME_MAX} printable characters")
    phone = buyer.get("phone")
    if phone is not None:
        try:
            phone = phones.normalize(phone) if isinstance(phone, str) else None
        except phones.InvalidPhone:
            phone = None
        if phone is None:
            raise _invalid("buyer.phone", "buyer.phone must be a valid phone number, "
                           "e.g. +250788123456")
    return OrderRequest(listing, quantity, name, phone)


# --- the answer -----------------------------------------------------------------


def order_json(s: Session, order: Order) -> dict:
    listing = s.get(Listing, order.listing_id)
    product = s.get(Product, listing.product_id)
    return {
        "code": order.code,
        "status": str(order.status),
        "listing": listing.code,
        "product": {"code": product.code, "name": product.name_en},
        "grade": listing.grade,
        "quantity": order.quantity,
        "unit": str(product.unit),
        "unit_price": order.unit_price,
        "total": order.total,
        "currency": "RWF",
        "buyer": {"name": order.buyer_name, "phone": order.buyer_phone},
        "created_at": iso(order.created_at),
        "expires_at": iso(order.expires_at),
        "answered_at": iso(order.answered_at),
        "history": [{"status": str(event.status), "at": iso(event.at), "actor": event.actor}
                    for event in order.events],
    }


def _enqueue(message_ids: list[int]) -> None:
    """After commit. A failure leaves the row queued for the sweep; the order stands."""
    client = services().redis
    for message_id in message_ids:
        try:
            queues.enqueue_sms(client, message_id)
        except Exception:
            log.exception("could not enqueue SMS %s (it stays queued for the sweep)", message_id)


def _replay(s: Session, order: Order, wanted: OrderRequest):
    if not wanted.matches(s, order):
        raise ApiError(422, "idempotency_key_reused",
                       "this Idempotency-Key was already used with a different request",
                       order=order.code)
    return jsonify(order_json(s, order)), 200


def _own_order(s: Session, code: str) -> Order:
    """The order with this code placed with the caller's API key; 404 otherwise,
    so a platform cannot learn whether another platform's code exists."""
    order = None
    if len(code) == 6 and code.isascii() and code.isdigit():
        order = order_service.by_code(s, code)
    if order is None or order.api_key_id != api_key_id():
        raise ApiError(404, "not_found", "no such order")
    return order


# --- routes ---------------------------------------------------------------------


@bp.post("/orders")
def create_order():
    key = idempotency_key()
    wanted = parse_order(json_body())
    key_id = api_key_id()
    scoped = f"api:{key_id}:{key}"
    svc = services()
    with svc.db.session() as s:
        previous = s.scalar(select(Order).where(Order.idem_key == scoped))
        if previous is not None:
            return _replay(s, previous, wanted)
        listing = s.scalar(select(Listing).where(Listing.code == wanted.listing))
        if listing is None:
            raise ApiError(404, "not_found", "no listing with this code is on sale",
                           field="listing")
        try:
            order, messages = order_service.place_order(
                s, listing_id=listing.id, quantity=wanted.quantity, buyer_name=wanted.buyer_name,
                buyer_phone=wanted.buyer_phone, api_key_id=key_id, idem_key=scoped, channel="api",
                service_code=svc.settings.ussd_service_code,
                ttl=timedelta(minutes=svc.settings.order_ttl_minutes))
        except order_service.OutOfStock as exc:
            raise ApiError(409, "out_of_stock", f"only {exc.available} left",
                           available=exc.available) from None
        except NotFound:
            raise ApiError(404, "not_found", "no listing with this code is on sale",
                           field="listing") from None
        except InvalidInput as exc:
            raise _invalid(_FIELD_OF_CODE.get(exc.code, "body"), exc.message, exc.code) from None
        except MarketError as exc:
            raise ApiError(409, exc.code, exc.message) from None
        if not messages:
            # A concurrent request with the same key inserted first: undo the
            # quantity this call reserved, and answer with that order.
            s.rollback()
            winner = s.scalar(select(Order).where(Order.idem_key == scoped))
            return _replay(s, winner, wanted)
        body = order_json(s, order)
        message_ids = [message.id for message in messages]
    _enqueue(message_ids)
    return jsonify(body), 201, {"Location": url_for("api.get_order", code=body["code"])}


@bp.get("/orders/<code>")
def get_order(code: str):
    with services().db.session() as s:
        body = order_json(s, _own_order(s, code))
    return jsonify(body)


@bp.post("/orders/<code>/cancel")
def cancel_order(code: str):
    with services().db.session() as s:
        order = _own_order(s, code)
        try:
            messages = order_service.cancel_order(s, order, "buyer")
        except order_service.OrderClosed as exc:
            raise ApiError(409, "order_closed", f"the order is already {exc.status}",
                           status=str(exc.status)) from None
        body = order_json(s, order)
        message_ids = [message.id for message in messages]
    _enqueue(message_ids)
    return jsonify(body)
