"""The seam the order flow calls, and the one place an answer changes a payment.

Every function takes a session and never commits: the caller owns the
transaction. The order flow calls, when mobile money is on
(`settings.momo is not None`):

- on acceptance: `start_collection(s, order, config)`, commit, then
  `gateway.payments.jobs.enqueue(redis, payment.id)` (the periodic
  `jobs.tick` would find it anyway within seconds);
- when the buyer retries from USSD after a failure: `start_collection` again
  (a new reference only if the last one FAILED; otherwise the same payment);
- on delivery: `start_transfer(s, order, config)`, commit, enqueue the same way;
- before a seller hands over: `is_paid(s, order)`.

What a result changes comes back as a `Change` (from `record`, run by the
jobs): the order's new status (already applied: `paid` or `settled`, with an
`OrderEvent` and its outbox row) and the `notices` to send, as (who, kind,
reason) for the order flow to render in each person's language.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.core.settings import MomoConfig
from gateway.market.models import Producer
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.orders.outbox import OrderEventOutbox
from gateway.payments.models import OPEN, Payment, PaymentEvent, PaymentKind, PaymentStatus
from gateway.payments.momo import Answer, Outcome, new_reference

ACTOR = "momo"
BODY_LIMIT = 2000


class PaymentError(ValueError):
    """A payment cannot start (no buyer number, not paid yet, ...); `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Notice:
    """One SMS the order flow should send: `to` is "buyer" or "seller"; `kind`
    one of payment_received, payment_failed (with MTN's reason, e.g.
    NOT_ENOUGH_FUNDS), payout_sent, payout_held (for operators)."""

    to: str
    kind: str
    reason: str | None = None


@dataclass(frozen=True)
class Change:
    payment_id: int
    order_id: int
    status: PaymentStatus
    order_status: OrderStatus | None = None  # set when the order moved (paid, settled)
    notices: tuple[Notice, ...] = field(default_factory=tuple)


# --- starting --------------------------------------------------------------------------


def start_collection(s: Session, order: Order, config: MomoConfig,
                     now: datetime | None = None) -> Payment:
    """The order's collection, created (or renewed after a failure) with its
    reference stored now, so the call made after the commit and any retry of
    it use that reference. Open or successful: returned unchanged."""
    if not order.buyer_phone:
        raise PaymentError("no_phone", "the order has no buyer number to ask payment from")
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.PAID):
        raise PaymentError("not_accepted", "only an accepted order is paid for")
    now = now or utcnow()
    payment = _locked(s, order.id, PaymentKind.COLLECTION)
    if payment is None:
        payment = Payment(order_id=order.id, kind=PaymentKind.COLLECTION, status=PaymentStatus.NEW,
                          reference=new_reference(), attempt=1, phone=order.buyer_phone,
                          amount=order.total, commission=0, currency=config.currency,
                          created_at=now, requested_at=now, next_check_at=now)
        s.add(payment)
        s.flush()
        history(s, payment, "start")
    elif payment.status == PaymentStatus.FAILED:
        # MTN's answer for the old reference is final: a new request needs a new id.
        payment.reference, payment.attempt = new_reference(), payment.attempt + 1
        payment.status, payment.reason, payment.finished_at = PaymentStatus.NEW, None, None
        payment.requested_at = payment.next_check_at = now
        history(s, payment, "retry")
    return payment


def start_transfer(s: Session, order: Order, config: MomoConfig,
                   now: datetime | None = None) -> Payment:
    """The seller's payout for a paid order: the total less the commission.
    Only one per order, ever; an existing one is returned unchanged."""
    payment = _locked(s, order.id, PaymentKind.TRANSFER)
    if payment is not None:
        return payment
    if not is_paid(s, order):
        raise PaymentError("not_paid", "the buyer's payment has not succeeded")
    seller = s.get(Producer, order.seller_id)
    now = now or utcnow()
    commission = config.commission(order.total)
    payment = Payment(order_id=order.id, kind=PaymentKind.TRANSFER, status=PaymentStatus.NEW,
                      reference=new_reference(), attempt=1, phone=seller.phone,
                      amount=order.total - commission, commission=commission,
                      currency=config.currency, created_at=now, requested_at=now, next_check_at=now)
    s.add(payment)
    s.flush()
    history(s, payment, "start")
    return payment


def retry_held_transfer(s: Session, payment: Payment, operator: str,
                        now: datetime | None = None) -> Payment:
    """An operator sends a held transfer again. The reference is renewed only
    if MTN said the last one failed or refused it; after an unknown outcome
    the same one is asked again (if it went through, MTN answers 409 and the
    status tells)."""
    if payment.kind != PaymentKind.TRANSFER or payment.status != PaymentStatus.HELD:
        raise PaymentError("not_held", "only a held transfer can be sent again")
    now = now or utcnow()
    last = s.scalar(select(PaymentEvent).where(PaymentEvent.payment_id == payment.id,
                                               PaymentEvent.reference == payment.reference,
                                               PaymentEvent.outcome.is_not(None))
                    .order_by(PaymentEvent.id.desc()).limit(1))
    if last is not None and last.outcome in (Outcome.FAILED, Outcome.REFUSED):
        payment.reference, payment.attempt = new_reference(), payment.attempt + 1
    payment.status, payment.reason, payment.finished_at = PaymentStatus.NEW, None, None
    payment.requested_at = payment.next_check_at = now
    history(s, payment, "operator", reason=operator[:64])
    return payment


# --- reading ---------------------------------------------------------------------------


def is_paid(s: Session, order: Order) -> bool:
    payment = s.scalar(select(Payment).where(Payment.order_id == order.id,
                                             Payment.kind == PaymentKind.COLLECTION))
    return payment is not None and payment.status == PaymentStatus.SUCCESSFUL


def by_reference(s: Session, reference: str) -> Payment | None:
    """The payment a reference belongs to, current or superseded."""
    payment = s.scalar(select(Payment).where(Payment.reference == reference))
    if payment is None:
        payment_id = s.scalar(select(PaymentEvent.payment_id)
                              .where(PaymentEvent.reference == reference).limit(1))
        payment = s.get(Payment, payment_id) if payment_id is not None else None
    return payment


def was_sent(s: Session, payment: Payment) -> bool:
    """Whether a request with the current reference may have reached MTN."""
    return s.scalar(select(PaymentEvent.id).where(PaymentEvent.payment_id == payment.id,
                                                  PaymentEvent.reference == payment.reference,
                                                  PaymentEvent.action == "request").limit(1)) is not None


# --- recording -------------------------------------------------------------------------


def callback(s: Session, reference: str, answer: Answer, now: datetime | None = None) -> Payment | None:
    """A callback about `reference` (MTN sends each once, unsigned): kept in
    the history, and its payment, if open, made due for a status check now.
    Its body is not trusted to change anything: the check asks MTN, so a
    forged or repeated callback moves no money and no order."""
    payment = by_reference(s, reference)
    if payment is None:
        return None
    payment = s.get(Payment, payment.id, with_for_update=True)
    history(s, payment, "callback", answer, reference=reference)
    if payment.status in OPEN and payment.reference == reference:
        payment.next_check_at = now or utcnow()
    return payment


def mark_sending(s: Session, payment: Payment) -> None:
    """Record, before the call, that a request with this reference goes out:
    a worker that dies before recording the answer leaves this trace, and
    the next run asks MTN for the reference's status before anything else."""
    history(s, payment, "request")


def record(s: Session, payment: Payment, action: str, answer: Answer, config: MomoConfig,
           now: datetime | None = None) -> Change:
    """Apply one answer about the current reference to a locked, re-read payment.
    Answers about a closed payment are only written to the history."""
    now = now or utcnow()
    if payment.status not in OPEN:
        history(s, payment, action, answer)
        return Change(payment.id, payment.order_id, payment.status)
    change = _apply(s, payment, action, answer, config, now)
    history(s, payment, action, answer)
    return change


def _apply(s: Session, payment: Payment, action: str, answer: Answer, config: MomoConfig,
           now: datetime) -> Change:
    outcome = answer.outcome
    if outcome == Outcome.SUCCESSFUL:
        payment.status, payment.financial_id = PaymentStatus.SUCCESSFUL, answer.financial_id
        payment.finished_at, payment.next_check_at, payment.reason = now, None, None
        return _order_moves(s, payment)
    if outcome in (Outcome.FAILED, Outcome.REFUSED):
        return _close_failed(s, payment, answer.reason or str(outcome), now)
    if outcome == Outcome.ACCEPTED:
        payment.status = PaymentStatus.REQUESTED
        payment.next_check_at = now + _seconds(config.poll_first)
        return Change(payment.id, payment.order_id, payment.status)
    if outcome == Outcome.NOT_FOUND:
        # MTN never took this reference: send it (again, same id) next run.
        payment.status = PaymentStatus.NEW
    age = (now - payment.requested_at).total_seconds()
    limit = config.pending_limit if payment.kind == PaymentKind.COLLECTION else config.transfer_limit
    if outcome == Outcome.PENDING and age >= limit:
        return _close_failed(s, payment, "EXPIRED" if payment.kind == PaymentKind.COLLECTION
                             else "PENDING_TOO_LONG", now)
    if outcome in (Outcome.RETRY, Outcome.NOT_FOUND) and age >= max(config.call_max_age, limit):
        return _close_failed(s, payment, f"unreachable_{answer.reason or outcome}"[:64], now)
    waited = max((now - payment.requested_at).total_seconds(), config.poll_first)
    payment.next_check_at = now + _seconds(min(waited, config.poll_cap))
    return Change(payment.id, payment.order_id, payment.status)


def _close_failed(s: Session, payment: Payment, reason: str, now: datetime) -> Change:
    payment.reason, payment.finished_at, payment.next_check_at = reason[:64], now, None
    if payment.kind == PaymentKind.COLLECTION:
        payment.status = PaymentStatus.FAILED
        notices = (Notice("buyer", "payment_failed", payment.reason),)
    else:
        payment.status = PaymentStatus.HELD
        notices = (Notice("operators", "payout_held", payment.reason),)
    return Change(payment.id, payment.order_id, payment.status, None, notices)


def _order_moves(s: Session, payment: Payment) -> Change:
    order = s.get(Order, payment.order_id, with_for_update=True)
    if payment.kind == PaymentKind.COLLECTION:
        target, notices = OrderStatus.PAID, (Notice("buyer", "payment_received"),
                                             Notice("seller", "payment_received"))
    else:
        target, notices = OrderStatus.SETTLED, (Notice("seller", "payout_sent"),)
    moved = None
    if order.status != target and order.status != OrderStatus.SETTLED:
        order.status = moved = target
        event = OrderEvent(order=order, status=target, actor=ACTOR, at=utcnow())
        s.add(event)
        s.add(OrderEventOutbox(event=event))
    return Change(payment.id, payment.order_id, payment.status, moved, notices)


def history(s: Session, payment: Payment, action: str, answer: Answer | None = None,
            reason: str | None = None, reference: str | None = None) -> None:
    """Write one event of the payment's history (about `reference`, by default the current one)."""
    s.add(PaymentEvent(payment_id=payment.id, reference=reference or payment.reference, action=action,
                       outcome=str(answer.outcome) if answer else None,
                       status_code=answer.status_code if answer else None,
                       reason=(answer.reason if answer else reason),
                       body=(answer.body or "")[:BODY_LIMIT] or None if answer else None,
                       status_after=str(payment.status), at=utcnow()))
    s.flush()


def _locked(s: Session, order_id: int, kind: PaymentKind) -> Payment | None:
    return s.scalar(select(Payment).where(Payment.order_id == order_id, Payment.kind == kind)
                    .with_for_update())


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
