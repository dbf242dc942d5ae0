"""Orders through the API: place (idempotent), list and read with history, cancel.

Idempotency: `Idempotency-Key` is required on `POST /orders` and scoped to
the API key (`idem_key = "api:<key id>:<header>"`, unique in SQL). A repeat
answers as the first call did: 201 with `Location` and the order the first
call made, nothing done twice (the body shows the order as it is now; one
rule, so a client that lost the first answer cannot tell, and need not). Whether a
repeat is the *same request* is decided against that order row itself: the
body has exactly the fields `inputs.OrderRequest` declares (unknown ones are
refused) and the order stores all of them (listing, quantity, buyer name,
buyer phone, after normalisation), so the order is the request's durable
fingerprint; no hash to keep in Redis (which may be lost) or to squeeze into
the 120-character key column. A key whose first use failed (404, 409, 422)
binds nothing and may be reused.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from flask import jsonify, url_for
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.api import outputs, validation
from gateway.api.blueprint import api_key_id, bp, services
from gateway.api.errors import ApiError
from gateway.api.inputs import OrderHeaders, OrderPath, OrderRequest, OrdersQuery
from gateway.api.listings import iso, keyset_page, own_newest_first
from gateway.market.models import Listing, Producer, Product
from gateway.market.rules import InvalidInput, MarketError, NotFound
from gateway.orders import service as order_service
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.payments import jobs as payment_jobs
from gateway.payments import trade
from gateway.payments.models import Payment, PaymentKind
from gateway.sms import queue as queues

log = logging.getLogger(__name__)

ORDER_CURSOR = "o1"  # cursors of /orders; /listings' do not fit here

# The service's own checks (kept there for the USSD side) by the field they name.
_FIELD_OF_CODE = {"invalid_quantity": "quantity", "invalid_phone": "buyer.phone",
                  "invalid_name": "buyer.name"}


def _same_request(s: Session, order: Order, wanted: OrderRequest) -> bool:
    """True when `order` is what `wanted` would have placed."""
    listing = s.get(Listing, order.listing_id)
    return ((listing.code, order.quantity, order.buyer_name, order.buyer_phone)
            == (wanted.listing, wanted.quantity, wanted.buyer.name, wanted.buyer.phone))


# --- the answer -----------------------------------------------------------------


def order_json(s: Session, order: Order, upto: OrderEvent | None = None) -> dict:
    """The order as the API shows it; with `upto`, as it was right after that
    event (its status, the history until it): what a webhook delivery carries."""
    listing = s.get(Listing, order.listing_id)
    product = s.get(Product, listing.product_id)
    events = [e for e in order.events if upto is None or e.id <= upto.id]
    status = order.status if upto is None else upto.status
    answered = order.answered_at if upto is None or status != OrderStatus.PENDING else None
    return outputs.Order(
        code=order.code, status=status, listing=listing.code,
        product=outputs.ProductRef(code=product.code, name=product.name_en),
        grade=listing.grade, quantity=order.quantity, unit=product.unit,
        unit_price=order.unit_price, total=order.total, currency="RWF",
        buyer=outputs.OrderBuyerOut(name=order.buyer_name, phone=order.buyer_phone),
        seller=_seller(s, order, events),
        payment=_payment(s, order),
        created_at=iso(order.created_at), expires_at=iso(order.expires_at),
        answered_at=iso(answered),
        history=[outputs.OrderEvent(status=event.status, at=iso(event.at), actor=event.actor)
                 for event in events],
    ).model_dump(mode="json")


def _seller(s: Session, order: Order, events: list[OrderEvent]) -> outputs.OrderSellerOut | None:
    """The seller to meet, only once the order was accepted (never before)."""
    if not any(event.status == OrderStatus.ACCEPTED for event in events):
        return None
    who = order_service.parties(s, order)
    return outputs.OrderSellerOut(name=who["seller_name"], district=who["seller_district"],
                                  phone=who["seller_phone"])


def _payment(s: Session, order: Order) -> outputs.OrderPaymentOut:
    collection = s.scalar(select(Payment).where(Payment.order_id == order.id,
                                                Payment.kind == PaymentKind.COLLECTION))
    if collection is None:
        return outputs.OrderPaymentOut(method="cash")
    return outputs.OrderPaymentOut(method="momo", status=str(collection.status), reason=collection.reason)


def _enqueue(message_ids: list[int], payment_ids: list[int] = ()) -> None:
    """After commit. A failure leaves the row queued for the sweep; the order stands."""
    client = services().redis
    for message_id in message_ids:
        try:
            queues.enqueue_sms(client, message_id)
        except Exception:
            log.exception("could not enqueue SMS %s (it stays queued for the sweep)", message_id)
    for payment_id in payment_ids:
        try:
            payment_jobs.enqueue(client, payment_id)
        except Exception:
            log.exception("could not enqueue payment %s (the payment tick finds it)", payment_id)


def _placed(body: dict):
    """The answer to a successful POST /orders, first call or replay alike."""
    return jsonify(body), 201, {"Location": url_for("api.get_order", code=body["code"])}


def _replay(s: Session, order: Order, wanted: OrderRequest):
    if not _same_request(s, order, wanted):
        raise ApiError(422, "idempotency_key_reused",
                       "this Idempotency-Key was already used with a different request",
                       order=order.code)
    return _placed(order_json(s, order))


def _check_not_own(s: Session, listing: Listing, wanted: OrderRequest) -> None:
    """A buyer cannot order from their own listing, as USSD refuses it: the
    seller's phone may not be the buyer phone sent."""
    seller = s.get(Producer, listing.producer_id)
    if wanted.buyer.phone is not None and seller.phone == wanted.buyer.phone:
        raise ApiError(409, "own_listing", "the buyer's phone is the seller's: a seller "
                                           "cannot order from their own listing")


def _own_order(s: Session, code: str) -> Order:
    """The order with this code placed with the caller's API key; 404 otherwise,
    so a platform cannot learn whether another platform's code exists."""
    try:
        order = order_service.by_code(s, OrderPath(code=code).code)
    except ValidationError:
        order = None
    if order is None or order.api_key_id != api_key_id():
        raise ApiError(404, "not_found", "no such order")
    return order


# --- routes ---------------------------------------------------------------------


@bp.post("/orders")
def create_order():
    key = validation.headers(OrderHeaders).idempotency_key
    wanted = validation.body(OrderRequest)
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
        _check_not_own(s, listing, wanted)
        try:
            order, messages = order_service.place_order(
                s, listing_id=listing.id, quantity=wanted.quantity, buyer_name=wanted.buyer.name,
                buyer_phone=wanted.buyer.phone, api_key_id=key_id, idem_key=scoped, channel="api",
                service_code=svc.settings.ussd_service_code,
                ttl=timedelta(minutes=svc.settings.order_ttl_minutes))
        except order_service.OutOfStock as exc:
            raise ApiError(409, "out_of_stock", f"only {exc.available} left",
                           available=exc.available) from None
        except NotFound:
            raise ApiError(404, "not_found", "no listing with this code is on sale",
                           field="listing") from None
        except InvalidInput as exc:
            raise ApiError(422, exc.code, exc.message,
                           field=_FIELD_OF_CODE.get(exc.code, "body")) from None
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
    return _placed(body)


@bp.get("/orders")
def list_orders():
    """The key's own orders, newest first; keyset pages on the order id."""
    params = validation.query(OrdersQuery)
    query = own_newest_first(Order, api_key_id(), params, ORDER_CURSOR)
    if params.since is not None:
        query = query.where(Order.created_at >= _moment(params.since))
    if params.until is not None:
        query = query.where(Order.created_at < _moment(params.until))
    with services().db.session() as s:
        page, next_cursor = keyset_page(list(s.scalars(query)), params.limit, ORDER_CURSOR)
        answer = {"data": [order_json(s, order) for order in page], "next_cursor": next_cursor}
    return jsonify(outputs.OrderPage.model_validate(answer).model_dump(mode="json"))


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@bp.get("/orders/<code>")
def get_order(code: str):
    with services().db.session() as s:
        body = order_json(s, _own_order(s, code))
    return jsonify(body)


@bp.post("/orders/<code>/received")
def confirm_received(code: str):
    momo = services().settings.momo
    return _move(code, lambda s, order: trade.confirm_receipt(s, order, "api", momo),
                 "the order is {status}, not awaiting delivery")


@bp.post("/orders/<code>/cancel")
def cancel_order(code: str):
    return _move(code, lambda s, order: trade.Step(order_service.cancel_order(s, order, "buyer")),
                 "the order is already {status}")


def _move(code: str, change, closed: str):
    """Apply `change(session, order)` (a `trade.Step`) to the key's own order
    and answer the order as it is then; 409 `order_closed` (`closed` naming
    the status) when the order cannot make that move, 409 `not_paid` while
    its mobile-money payment is awaited. Its SMS and payment checks are
    queued after the commit."""
    with services().db.session() as s:
        order = _own_order(s, code)
        try:
            step = change(s, order)
        except order_service.OrderClosed as exc:
            raise ApiError(409, "order_closed", closed.format(status=exc.status),
                           status=str(exc.status)) from None
        except order_service.AwaitingPayment as exc:
            raise ApiError(409, exc.code, exc.message) from None
        body = order_json(s, order)
        message_ids = [message.id for message in step.messages]
    _enqueue(message_ids, step.payments)
    return jsonify(body)
