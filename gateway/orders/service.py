"""Orders: a buyer reserves quantity from a listing; the seller accepts or
rejects; unanswered orders expire. Every change is recorded with its time.

Like `gateway.market`, every function takes the caller's `Session` and never
commits. Each returns the SMS `Message` rows it queued so the caller can
enqueue them after commit.

Stock is reserved with one conditional UPDATE (`quantity >= wanted`), which
both PostgreSQL (row lock) and SQLite (one writer at a time) apply
atomically: two buyers racing for the last 10 kg cannot both get it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.market.models import Listing, ListingStatus, Producer, Product
from gateway.market.rules import MarketError, NotFound, check_quantity
from gateway.market.service import CODE_ATTEMPTS, format_rwf, random_code
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.orders.outbox import OrderEventOutbox
from gateway.sms import texts as smstexts
from gateway.sms.models import Message, MessageStatus

DEFAULT_TTL = timedelta(hours=24)
OPEN = (OrderStatus.PENDING,)


class OutOfStock(MarketError):
    def __init__(self, available: int) -> None:
        super().__init__("out_of_stock", f"only {available} left")
        self.available = available


class OrderClosed(MarketError):
    def __init__(self, status: str) -> None:
        super().__init__("order_closed", f"the order is already {status}")
        self.status = status


class OrderExpired(OrderClosed):
    """The order's deadline passed before this answer: it is expired now, and
    `messages` tell both sides (queued rows; the caller enqueues them, the
    sweep does it otherwise)."""

    def __init__(self, messages: list[Message]) -> None:
        super().__init__(OrderStatus.EXPIRED.value)
        self.messages = messages


def dial_string(service_code: str, order_code: str) -> str:
    """What a seller dials to open an order: `*384*7#` + 482113 → `*384*7*482113#`."""
    return f"{service_code.rstrip('#')}*{order_code}#"


# --- placing --------------------------------------------------------------------


def place_order(s: Session, *, listing_id: int, quantity: int, buyer_id: int | None = None,
                buyer_phone: str | None = None, buyer_name: str | None = None,
                api_key_id: int | None = None, idem_key: str | None = None,
                channel: str = "ussd", ttl: timedelta = DEFAULT_TTL,
                service_code: str = "*384*7#") -> tuple[Order, list[Message]]:
    """Reserve `quantity` from an active listing and open a pending order.

    With an `idem_key` already used, returns that order and no message
    (nothing twice). Raises NotFound (no such active listing), OutOfStock,
    MarketError("own_listing") when a producer orders from themselves.
    """
    if idem_key is not None:
        previous = s.scalar(select(Order).where(Order.idem_key == idem_key))
        if previous is not None:
            return previous, []
    quantity = check_quantity(quantity)
    listing = s.get(Listing, listing_id)
    if listing is None or listing.status != ListingStatus.ACTIVE:
        raise NotFound("no such listing on sale")
    if buyer_id is not None and listing.producer_id == buyer_id:
        raise MarketError("own_listing", "you cannot order from your own listing")
    now = utcnow()
    order = Order(listing_id=listing.id, seller_id=listing.producer_id, buyer_id=buyer_id,
                  buyer_phone=buyer_phone, buyer_name=buyer_name, api_key_id=api_key_id,
                  quantity=quantity, unit_price=listing.unit_price,
                  total=quantity * listing.unit_price, status=OrderStatus.PENDING,
                  channel=channel, idem_key=idem_key, created_at=now, expires_at=now + ttl)
    raced = _reserve_and_insert(s, listing, order)
    if raced is not None:
        return raced, []
    _event(s, order, OrderStatus.PENDING, channel)
    seller = s.get(Producer, order.seller_id)
    message = _message(s, seller.phone, seller.language, "order_new", order, listing,
                       dial=dial_string(service_code, order.code))
    return order, [message]


def _reserve(s: Session, listing: Listing, quantity: int) -> None:
    left = Listing.quantity - quantity
    result = s.execute(
        update(Listing)
        .where(Listing.id == listing.id, Listing.status == ListingStatus.ACTIVE,
               Listing.quantity >= quantity)
        .values(quantity=left, updated_at=utcnow(),
                status=case((left == 0, ListingStatus.SOLD_OUT), else_=Listing.status))
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        s.refresh(listing)
        raise OutOfStock(listing.quantity if listing.status == ListingStatus.ACTIVE else 0)
    s.refresh(listing)


def _release(s: Session, order: Order) -> None:
    """Give an order's quantity back to its listing (reject, expiry, cancel)."""
    s.execute(
        update(Listing).where(Listing.id == order.listing_id)
        .values(quantity=Listing.quantity + order.quantity, updated_at=utcnow(),
                status=case((Listing.status == ListingStatus.SOLD_OUT, ListingStatus.ACTIVE),
                            else_=Listing.status))
        .execution_options(synchronize_session=False))


def _reserve_and_insert(s: Session, listing: Listing, order: Order) -> Order | None:
    """Reserve the stock and insert the order with a fresh random code, in one
    savepoint: if the insert fails (a code collision, or a twin request with
    the same idempotency key that won), the reservation is undone with it.
    Returns the twin's order when one won, else None."""
    for _ in range(CODE_ATTEMPTS):
        order.code = random_code()
        try:
            with s.begin_nested():
                _reserve(s, listing, order.quantity)
                s.add(order)
            return None
        except IntegrityError:
            if order.idem_key:
                winner = s.scalar(select(Order).where(Order.idem_key == order.idem_key))
                if winner is not None:
                    s.refresh(listing)
                    return winner
    raise MarketError("no_code", "could not find a free order code")


# --- answering, expiring, cancelling --------------------------------------------


def seller_order(s: Session, *, seller_id: int, code: str) -> Order:
    """The seller's own order with this code; NotFound for any other code, so
    a seller can never reach someone else's order whatever they type."""
    order = s.scalar(select(Order).where(Order.code == str(code), Order.seller_id == seller_id))
    if order is None:
        raise NotFound("no such order")
    return order


def answer_order(s: Session, *, seller_id: int, code: str, accept: bool) -> tuple[Order, list[Message]]:
    """Accept or reject a pending order; the buyer is told by SMS.
    Raises NotFound (not the seller's), OrderClosed (no longer pending) or
    OrderExpired (its deadline passed: it is expired now, whatever the
    expiry sweep's timing)."""
    order = seller_order(s, seller_id=seller_id, code=code)
    _lock(s, order)
    if order.status != OrderStatus.PENDING:
        raise OrderClosed(order.status)
    expired = expire_if_due(s, order)
    if expired is not None:
        raise OrderExpired(expired)
    status = OrderStatus.ACCEPTED if accept else OrderStatus.REJECTED
    _close(s, order, status, "seller")
    if not accept:
        _release(s, order)
    return order, _tell_buyer(s, order, f"order_{status}")


def cancel_order(s: Session, order: Order, actor: str = "buyer") -> list[Message]:
    """The buyer withdraws a pending order; the seller is told."""
    _lock(s, order)
    if order.status != OrderStatus.PENDING:
        raise OrderClosed(order.status)
    _close(s, order, OrderStatus.CANCELLED, actor)
    _release(s, order)
    seller = s.get(Producer, order.seller_id)
    return [_message(s, seller.phone, seller.language, "order_cancelled", order)]


def expire_due(s: Session, now: datetime | None = None, limit: int = 500) -> tuple[int, list[Message]]:
    """Expire pending orders past their time; both sides are told.
    Returns how many expired and the messages queued."""
    now = now or utcnow()
    due = list(s.scalars(select(Order).where(Order.status == OrderStatus.PENDING,
                                             Order.expires_at <= now)
                         .order_by(Order.expires_at).limit(limit)))
    messages: list[Message] = []
    count = 0
    for order in due:
        _lock(s, order)
        if order.status != OrderStatus.PENDING:
            continue  # answered meanwhile
        messages += _expire(s, order)
        count += 1
    return count, messages


def expire_if_due(s: Session, order: Order, now: datetime | None = None) -> list[Message] | None:
    """Expire a pending `order` whose deadline has passed (under its row
    lock); returns the messages telling both sides, or None when it is not due."""
    _lock(s, order)
    if order.status != OrderStatus.PENDING or order.expires_at > (now or utcnow()):
        return None
    return _expire(s, order)


def _expire(s: Session, order: Order) -> list[Message]:
    _close(s, order, OrderStatus.EXPIRED, "system")
    _release(s, order)
    seller = s.get(Producer, order.seller_id)
    return ([_message(s, seller.phone, seller.language, "order_expired_seller", order)]
            + _tell_buyer(s, order, "order_expired_buyer"))


def _lock(s: Session, order: Order) -> None:
    """Re-read the order under a row lock (PostgreSQL) so two answers serialise."""
    s.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    s.refresh(order)


def _close(s: Session, order: Order, status: OrderStatus, actor: str) -> None:
    order.status = status
    order.answered_at = utcnow()
    _event(s, order, status, actor)


def _event(s: Session, order: Order, status: OrderStatus, actor: str) -> None:
    """Record the change, and put it in the outbox in the same transaction:
    the webhooks hear of it if and only if it commits."""
    event = OrderEvent(order=order, status=status, actor=actor, at=utcnow())
    s.add(event)
    s.add(OrderEventOutbox(event=event))
    s.flush()


# --- reading --------------------------------------------------------------------


def pending_for_seller(s: Session, seller_id: int) -> list[Order]:
    query = (select(Order).where(Order.seller_id == seller_id, Order.status == OrderStatus.PENDING)
             .order_by(Order.created_at.desc(), Order.id.desc()))
    return list(s.scalars(query))


def by_code(s: Session, code: str) -> Order | None:
    return s.scalar(select(Order).where(Order.code == str(code)))


# --- messages -------------------------------------------------------------------


def _tell_buyer(s: Session, order: Order, kind: str) -> list[Message]:
    phone, lang = order.buyer_phone, "en"
    if order.buyer_id is not None:
        buyer = s.get(Producer, order.buyer_id)
        phone, lang = buyer.phone, buyer.language
    if not phone:
        return []  # an API buyer without a phone reads the state from the API
    return [_message(s, phone, lang, kind, order)]


def _message(s: Session, phone: str, lang: str, kind: str, order: Order,
             listing: Listing | None = None, **extra) -> Message:
    listing = listing or s.get(Listing, order.listing_id)
    product = s.get(Product, listing.product_id)
    published = smstexts.published(s)
    unit = smstexts.unit_label(str(product.unit), str(lang), published)
    text = smstexts.render(kind, str(lang), published, code=order.code, product=product.name(str(lang)),
                           quantity=f"{order.quantity:,}", unit=unit,
                           price=format_rwf(order.unit_price), total=format_rwf(order.total), **extra)
    message = Message(recipient=phone, text=text, language=str(lang), kind=kind,
                      status=MessageStatus.QUEUED, attempts=0, segments=smstexts.segments(text))
    s.add(message)
    s.flush()
    return message
