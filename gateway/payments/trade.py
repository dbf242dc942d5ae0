"""The trade's moves with their money: what the USSD menus and the API call.

Without mobile money (`config is None`) every function here is the orders
service's own move: cash on delivery, the delivery code sent on acceptance.
With it (`settings.momo`), an order whose buyer has a phone is paid by MoMo:

- `accept`: the two sides meet as in cash, but the delivery code waits for
  the payment; the collection is created (its reference stored) in the same
  transaction, and the buyer is told to approve it on their phone;
- the payment job (`gateway.payments.jobs`) makes the order `paid` and sends
  the buyer the delivery code (`orders.paid`); a failure tells the buyer why
  and how to try again (`retry_payment`, from *My orders*);
- `deliver_with_code` / `confirm_receipt`: refused until paid
  (`orders.AwaitingPayment`); once delivered, the seller's transfer is
  created, and the job makes the order `settled` when it arrives.

An order whose buyer has no phone (an API buyer that gave none) cannot be
asked to pay by MoMo: it stays cash on delivery.

Every function takes the caller's session and never commits. Each returns a
`Step`: the SMS rows queued and the payments to check, both for the caller
to enqueue once the transaction commits (the periodic payment tick finds a
payment anyway within seconds if that enqueue is lost).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.core.settings import MomoConfig
from gateway.orders import service as orders
from gateway.orders.models import Order, OrderStatus
from gateway.payments import service
from gateway.payments.models import OPEN, Payment, PaymentKind, PaymentStatus
from gateway.sms.models import Message


@dataclass
class Step:
    """What a move leaves for after the commit."""

    messages: list[Message] = field(default_factory=list)
    payments: list[int] = field(default_factory=list)  # payment ids to check now
    handover: orders.Handover | None = None  # set by deliver_with_code


def by_momo(s: Session, order: Order, config: MomoConfig | None) -> bool:
    """Whether `order` is paid by mobile money (else cash on delivery)."""
    return config is not None and bool(orders.buyer_phone(s, order))


def accept(s: Session, *, seller_id: int, code: str, config: MomoConfig | None) -> tuple[Order, Step]:
    """The seller accepts: as `orders.answer_order`, plus, by MoMo, the
    collection and the buyer's SMS asking to approve it. Raises as
    `answer_order` does."""
    order = orders.seller_order(s, seller_id=seller_id, code=code)
    momo = by_momo(s, order, config)
    order, messages = orders.answer_order(s, seller_id=seller_id, code=code, accept=True, cash=not momo)
    step = Step(messages)
    if momo:
        _collect(s, order, config, step)
    return order, step


def _collect(s: Session, order: Order, config: MomoConfig, step: Step) -> None:
    payment = service.start_collection(s, order, config)
    step.payments.append(payment.id)
    step.messages += orders.tell_buyer(s, order, "payment_requested")


def payment_state(s: Session, order: Order) -> str:
    """The buyer's side of an order awaiting payment: "none" (cash, or paid:
    nothing to do), "waiting" (a request is with MTN) or "failed" (the last
    one failed: the buyer may try again)."""
    if order.delivery_code_hash:
        return "none"
    payment = s.scalar(select(Payment).where(Payment.order_id == order.id,
                                             Payment.kind == PaymentKind.COLLECTION))
    if payment is None:
        return "none"
    if payment.status in OPEN:
        return "waiting"
    return "failed" if payment.status == PaymentStatus.FAILED else "none"


def retry_payment(s: Session, order: Order, config: MomoConfig | None) -> tuple[str, Step]:
    """The buyer asks to pay again after a failure: "sent" (a new request,
    the buyer told to approve it), "waiting" (one is already with MTN:
    nothing new) or "closed" (nothing to pay: cash, paid, or not awaiting
    handover). Never a second charge: `start_collection` renews only a
    FAILED collection, and the job asks MTN about the old reference first."""
    if not by_momo(s, order, config) or order.status not in orders.AWAITING_HANDOVER:
        return "closed", Step()
    state = payment_state(s, order)
    if state != "failed":
        return ("waiting" if state == "waiting" else "closed"), Step()
    step = Step()
    _collect(s, order, config, step)
    return "sent", step


def deliver_with_code(s: Session, *, seller_id: int, code: str, delivery_code: str,
                      config: MomoConfig | None) -> Step:
    """The seller enters the buyer's code (`orders.deliver_with_code`); a
    delivered MoMo order gets its transfer. Raises as that function does."""
    done = orders.deliver_with_code(s, seller_id=seller_id, code=code, delivery_code=delivery_code)
    step = Step(list(done.messages), handover=done)
    if done.outcome == "delivered":
        _pay_out(s, done.order, config, step)
    return step


def confirm_receipt(s: Session, order: Order, actor: str, config: MomoConfig | None) -> Step:
    """The buyer says the goods arrived (USSD or API): delivered, and a paid
    order's transfer started."""
    step = Step(orders.confirm_receipt(s, order, actor))
    _pay_out(s, order, config, step)
    return step


def resolve_dispute(s: Session, order: Order, status: str, operator: str,
                    config: MomoConfig | None) -> Step:
    """An operator ends a dispute (`orders.resolve_dispute`); resolved as
    delivered, a paid order's transfer starts as on any delivery."""
    step = Step(orders.resolve_dispute(s, order, status, operator))
    if order.status == OrderStatus.DELIVERED:
        _pay_out(s, order, config, step)
    return step


def _pay_out(s: Session, order: Order, config: MomoConfig | None, step: Step) -> None:
    if config is not None and service.is_paid(s, order):
        step.payments.append(service.start_transfer(s, order, config).id)
