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

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.market.rules import MarketError, NotFound, check_quantity
from gateway.market.service import CODE_ATTEMPTS, dial_string, format_rwf, random_code
from gateway.orders.lifecycle import AWAITING_HANDOVER, DISPUTABLE, BadMove, allowed, check_move  # noqa: F401 (BadMove: callers catch it here)
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.orders.outbox import OrderEventOutbox
from gateway.sms import texts as smstexts
from gateway.sms.models import Message, MessageStatus

DEFAULT_TTL = timedelta(hours=24)
OPEN = (OrderStatus.PENDING,)
DEFAULT_DELIVERY = timedelta(days=7)
CODE_TRIES = 3  # wrong delivery codes before the entry locks
CODE_LOCK = timedelta(hours=1)
CODE_HASH_ROUNDS = 20_000
NAME_SENT = 30  # a name in an SMS is cut to this many characters


class OutOfStock(MarketError):
    def __init__(self, available: int) -> None:
        super().__init__("out_of_stock", f"only {available} left")
        self.available = available


class OrderClosed(MarketError):
    def __init__(self, status: str) -> None:
        super().__init__("order_closed", f"the order is already {status}")
        self.status = status


class AwaitingPayment(MarketError):
    """The order is paid by mobile money and the payment has not succeeded:
    no delivery code exists yet, so nothing can be handed over."""

    def __init__(self) -> None:
        super().__init__("not_paid", "the buyer has not paid yet")


class OrderExpired(OrderClosed):
    """The order's deadline passed before this answer: it is expired now, and
    `messages` tell both sides (queued rows; the caller enqueues them, the
    sweep does it otherwise)."""

    def __init__(self, messages: list[Message]) -> None:
        super().__init__(OrderStatus.EXPIRED.value)
        self.messages = messages


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


def answer_order(s: Session, *, seller_id: int, code: str, accept: bool,
                 cash: bool = True) -> tuple[Order, list[Message]]:
    """Accept or reject a pending order; the buyer is told by SMS.
    A cash order (`cash`) gets its delivery code now; one paid by mobile
    money gets it with the payment (`paid`). Raises NotFound (not the
    seller's), OrderClosed (no longer pending) or OrderExpired (its deadline
    passed: it is expired now, whatever the expiry sweep's timing)."""
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
        return order, _tell_buyer(s, order, "order_rejected")
    return order, _meet(s, order, cash)


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
    """A pending order answered (or expired, cancelled): its answer time is kept."""
    _move(s, order, status, actor)
    order.answered_at = utcnow()


def _move(s: Session, order: Order, status: OrderStatus, actor: str) -> None:
    """Every change of state: checked against the one table, then recorded."""
    check_move(order.status, status)
    order.status = status
    _event(s, order, status, actor)


def _event(s: Session, order: Order, status: OrderStatus, actor: str) -> None:
    """Record the change, and put it in the outbox in the same transaction:
    the webhooks hear of it if and only if it commits."""
    event = OrderEvent(order=order, status=status, actor=actor, at=utcnow())
    s.add(event)
    s.add(OrderEventOutbox(event=event))
    s.flush()


# --- meeting and handing over --------------------------------------------------


def _hash_code(order: Order, code: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", f"{order.code}:{code}".encode(), salt.encode(),
                                 CODE_HASH_ROUNDS)
    return f"{salt}${digest.hex()[:47]}"


def _new_delivery_code(order: Order) -> str:
    """A fresh 4-digit code; only its salted hash is stored on the order."""
    code = f"{secrets.randbelow(10_000):04d}"
    order.delivery_code_hash = _hash_code(order, code, secrets.token_hex(8))
    order.code_failures = 0
    order.code_locked_until = None
    return code


def _code_matches(order: Order, code: str) -> bool:
    if not order.delivery_code_hash or "$" not in order.delivery_code_hash:
        return False
    salt = order.delivery_code_hash.split("$", 1)[0]
    return hmac.compare_digest(_hash_code(order, str(code).strip(), salt), order.delivery_code_hash)


def _short(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) <= NAME_SENT:
        return name
    cut = name[:NAME_SENT + 1].rsplit(" ", 1)[0]
    return cut if 0 < len(cut) <= NAME_SENT else name[:NAME_SENT]


def buyer_phone(s: Session, order: Order) -> str | None:
    """The number the buyer is reached on: a registered buyer's own, else
    what the buyer platform gave (None: an API buyer without a phone)."""
    if order.buyer_id is not None:
        return s.get(Producer, order.buyer_id).phone
    return order.buyer_phone or None


def parties(s: Session, order: Order) -> dict:
    """Who meets whom: the seller's name, phone and district; the buyer's name
    and phone (a registered buyer's, else what the buyer platform gave)."""
    seller = s.get(Producer, order.seller_id)
    district = s.get(District, seller.district_id)
    buyer = s.get(Producer, order.buyer_id) if order.buyer_id is not None else None
    return {"seller_name": _short(seller.name), "seller_phone": seller.phone,
            "seller_district": district.name if district else "",
            "buyer_name": _short(buyer.name if buyer else order.buyer_name),
            "buyer_phone": (buyer.phone if buyer else order.buyer_phone) or ""}


def _meet(s: Session, order: Order, cash: bool = True) -> list[Message]:
    """On acceptance: the buyer gets the seller's name, number and district;
    the seller gets the buyer's name and number. A cash order's buyer gets
    the delivery code now; a mobile-money order's comes with the payment."""
    who = parties(s, order)
    seller = s.get(Producer, order.seller_id)
    messages = _tell_buyer(s, order, "order_accepted", seller=who["seller_name"],
                           phone=who["seller_phone"], district=who["seller_district"])
    if cash:
        messages += _tell_buyer(s, order, "delivery_code", delivery_code=_new_delivery_code(order))
    buyer_phone = who["buyer_phone"] or "-"
    kind = "order_accepted_seller" if cash else "order_accepted_seller_momo"
    messages.append(_message(s, seller.phone, seller.language, kind, order,
                             buyer=who["buyer_name"] or "-", phone=buyer_phone))
    return messages


def paid(s: Session, order: Order, actor: str) -> list[Message]:
    """The buyer's mobile money arrived: the order becomes paid (when the
    table allows it: an overdue or disputed order keeps its state), the buyer
    gets the delivery code and the seller is told to hand over. Idempotent:
    an order that already has its code gets nothing twice."""
    _lock(s, order)
    if order.delivery_code_hash:
        return []
    if allowed(order.status, OrderStatus.PAID):
        _move(s, order, OrderStatus.PAID, actor)
    code = _new_delivery_code(order)
    seller = s.get(Producer, order.seller_id)
    return (_tell_buyer(s, order, "payment_received_buyer", delivery_code=code)
            + [_message(s, seller.phone, seller.language, "payment_received_seller", order)])


def cash_instead(s: Session, order: Order, buyer_kind: str) -> list[Message]:
    """Mobile money cannot pay this order (the buyer's number has no MoMo
    account): it becomes cash on delivery. The buyer gets the delivery code
    in the `buyer_kind` text that says why; the seller is told to take cash.
    Nothing twice: an order that has its code gets nothing."""
    _lock(s, order)
    if order.delivery_code_hash or order.status not in AWAITING_HANDOVER:
        return []
    code = _new_delivery_code(order)
    seller = s.get(Producer, order.seller_id)
    return (_tell_buyer(s, order, buyer_kind, delivery_code=code)
            + [_message(s, seller.phone, seller.language, "payment_cash_seller", order)])


def settled(s: Session, order: Order, amount: int, actor: str) -> list[Message]:
    """The seller's payout arrived: a delivered order becomes settled and the
    seller is told how much. Nothing twice: a settled order gets nothing."""
    _lock(s, order)
    if order.status == OrderStatus.SETTLED or not allowed(order.status, OrderStatus.SETTLED):
        return []
    _move(s, order, OrderStatus.SETTLED, actor)
    seller = s.get(Producer, order.seller_id)
    return [_message(s, seller.phone, seller.language, "payout_sent", order, amount=format_rwf(amount))]


@dataclass
class Handover:
    """What a delivery code entry did: `delivered`, `wrong` (with tries left)
    or `locked` (until when). Returned, not raised: a wrong entry must be
    counted, so the caller commits whatever the outcome."""

    outcome: str
    order: Order
    messages: list[Message] = field(default_factory=list)
    tries_left: int = 0
    locked_until: datetime | None = None


def deliver_with_code(s: Session, *, seller_id: int, code: str, delivery_code: str,
                      now: datetime | None = None) -> Handover:
    """The seller enters the buyer's code at handover. A right code moves the
    order to delivered and tells both sides. The third wrong code in a row
    locks the entry for CODE_LOCK and tells the buyer; while locked every
    entry is refused, right or wrong. Raises NotFound (not the seller's) or
    OrderClosed (not awaiting handover)."""
    now = now or utcnow()
    order = seller_order(s, seller_id=seller_id, code=code)
    _lock(s, order)
    _check_handover(order)
    if order.code_locked_until is not None and order.code_locked_until > now:
        return Handover("locked", order, locked_until=order.code_locked_until)
    if not _code_matches(order, delivery_code):
        order.code_failures = (order.code_failures or 0) + 1
        if order.code_failures < CODE_TRIES:
            s.flush()
            return Handover("wrong", order, tries_left=CODE_TRIES - order.code_failures)
        order.code_failures = 0
        order.code_locked_until = now + CODE_LOCK
        s.flush()
        return Handover("locked", order, _tell_buyer(s, order, "delivery_code_locked"),
                        locked_until=order.code_locked_until)
    return Handover("delivered", order, _delivered(s, order, "seller"))


def confirm_receipt(s: Session, order: Order, actor: str = "buyer") -> list[Message]:
    """The buyer says the goods arrived (USSD or API): delivered, the seller told."""
    _lock(s, order)
    _check_handover(order)
    return _delivered(s, order, actor)


def _check_handover(order: Order) -> None:
    """Goods may change hands: the order awaits them, and its delivery code
    exists (a cash order's from acceptance, a mobile-money order's from the
    payment, so an unpaid one cannot be handed over)."""
    if order.status not in AWAITING_HANDOVER:
        raise OrderClosed(order.status)
    if not order.delivery_code_hash:
        raise AwaitingPayment()


def _delivered(s: Session, order: Order, actor: str) -> list[Message]:
    _move(s, order, OrderStatus.DELIVERED, actor)
    order.delivered_at = utcnow()
    order.code_locked_until = None
    seller = s.get(Producer, order.seller_id)
    return ([_message(s, seller.phone, seller.language, "order_delivered", order)]
            + _tell_buyer(s, order, "order_delivered"))


def raise_dispute(s: Session, order: Order, actor: str) -> list[Message]:
    """Buyer or seller says something went wrong: an operator takes it from
    here, and both sides are told so (the one who raised it as a receipt)."""
    _lock(s, order)
    if order.status not in DISPUTABLE:
        raise OrderClosed(order.status)
    _move(s, order, OrderStatus.DISPUTED, actor)
    seller = s.get(Producer, order.seller_id)
    return ([_message(s, seller.phone, seller.language, "order_disputed", order)]
            + _tell_buyer(s, order, "order_disputed"))


def resolve_dispute(s: Session, order: Order, status: OrderStatus | str, operator: str) -> list[Message]:
    """An operator ends a dispute with what happened (delivered, cancelled, settled).
    A cancelled order gives its quantity back."""
    _lock(s, order)
    if order.status != OrderStatus.DISPUTED:
        raise OrderClosed(order.status)
    status = OrderStatus(status)
    _move(s, order, status, f"op:{operator}"[:16])
    if status == OrderStatus.DELIVERED:
        order.delivered_at = utcnow()
    if status == OrderStatus.CANCELLED:
        _release(s, order)
    return []


def mark_overdue(s: Session, delivery: timedelta = DEFAULT_DELIVERY, now: datetime | None = None,
                 limit: int = 500) -> int:
    """Accepted (or paid) orders not delivered within `delivery` of their
    acceptance become overdue, for an operator to follow up. Idempotent."""
    now = now or utcnow()
    due = list(s.scalars(select(Order).where(Order.status.in_([OrderStatus.ACCEPTED, OrderStatus.PAID]),
                                             Order.answered_at <= now - delivery)
                         .order_by(Order.answered_at).limit(limit)))
    count = 0
    for order in due:
        _lock(s, order)
        if order.status in (OrderStatus.ACCEPTED, OrderStatus.PAID):
            _move(s, order, OrderStatus.OVERDUE, "system")
            count += 1
    return count


# --- reading --------------------------------------------------------------------


def pending_for_seller(s: Session, seller_id: int) -> list[Order]:
    query = (select(Order).where(Order.seller_id == seller_id, Order.status == OrderStatus.PENDING)
             .order_by(Order.created_at.desc(), Order.id.desc()))
    return list(s.scalars(query))


def open_for(s: Session, producer_id: int, limit: int = 30) -> list[Order]:
    """A producer's orders still in play, as seller or buyer, newest first."""
    live = [OrderStatus.PENDING, *AWAITING_HANDOVER, OrderStatus.DISPUTED]
    query = (select(Order).where(Order.status.in_(live),
                                 (Order.seller_id == producer_id) | (Order.buyer_id == producer_id))
             .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    return list(s.scalars(query))


def by_code(s: Session, code: str) -> Order | None:
    return s.scalar(select(Order).where(Order.code == str(code)))


# --- messages -------------------------------------------------------------------


def tell_buyer(s: Session, order: Order, kind: str, **extra) -> list[Message]:
    """The SMS of `kind` about `order` to its buyer, in their language (none
    for an API buyer without a phone)."""
    return _tell_buyer(s, order, kind, **extra)


def _tell_buyer(s: Session, order: Order, kind: str, **extra) -> list[Message]:
    phone, lang = order.buyer_phone, "en"
    if order.buyer_id is not None:
        buyer = s.get(Producer, order.buyer_id)
        phone, lang = buyer.phone, buyer.language
    if not phone:
        return []  # an API buyer without a phone reads the state from the API
    return [_message(s, phone, lang, kind, order, **extra)]


def _message(s: Session, recipient: str, lang: str, kind: str, order: Order,
             listing: Listing | None = None, **extra) -> Message:
    listing = listing or s.get(Listing, order.listing_id)
    product = s.get(Product, listing.product_id)
    published = smstexts.published(s)
    unit = smstexts.unit_label(str(product.unit), str(lang), published)
    text = smstexts.render(kind, str(lang), published, code=order.code, product=product.name(str(lang)),
                           quantity=f"{order.quantity:,}", unit=unit,
                           price=format_rwf(order.unit_price), total=format_rwf(order.total), **extra)
    message = Message(recipient=recipient, text=text, language=str(lang), kind=kind,
                      status=MessageStatus.QUEUED, attempts=0, segments=smstexts.segments(text))
    s.add(message)
    s.flush()
    return message
