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
jobs): the order's new status, moved through `gateway.orders.service`
(`paid`, `settled`: the one table of moves, an `OrderEvent` and its outbox
row) and the SMS it queued in each person's language, for the job to
enqueue once the transaction commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.core.settings import MomoConfig
from gateway.market.models import Producer
from gateway.orders import service as orders
from gateway.orders.models import Order, OrderStatus
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
class Change:
    """What one answer changed: the payment's status, the order's new status
    when it moved (paid, settled), and the SMS rows queued in the same
    transaction (`messages`, ids: the caller enqueues them after commit).
    `held` is set when a transfer now waits for an operator."""

    payment_id: int
    order_id: int
    status: PaymentStatus
    order_status: OrderStatus | None = None
    messages: tuple[int, ...] = field(default_factory=tuple)
    held: bool = False


# --- starting --------------------------------------------------------------------------


def start_collection(s: Session, order: Order, config: MomoConfig,
                     now: datetime | None = None) -> Payment:
    """The order's collection, created (or renewed after a failure) with its
    reference stored now, so the call made after the commit and any retry of
    it use that reference. Open or successful: returned unchanged."""
    phone = orders.buyer_phone(s, order)
    if not phone:
        raise PaymentError("no_phone", "the order has no buyer number to ask payment from")
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.PAID):
        raise PaymentError("not_accepted", "only an accepted order is paid for")
    now = now or utcnow()
    payment = _locked(s, order.id, PaymentKind.COLLECTION)
    if payment is None:
        payment = Payment(order_id=order.id, kind=PaymentKind.COLLECTION, status=PaymentStatus.NEW,
                          reference=new_reference(), attempt=1, phone=phone,
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
    """The seller's payout for a paid, delivered order: the total less the
    commission. Only one per order, ever; an existing one is returned unchanged."""
    payment = _locked(s, order.id, PaymentKind.TRANSFER)
    if payment is not None:
        return payment
    if not is_paid(s, order):
        raise PaymentError("not_paid", "the buyer's payment has not succeeded")
    if order.status != OrderStatus.DELIVERED:
        raise PaymentError("not_delivered", "the seller is paid once the goods are delivered")
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


def earlier_references(s: Session, payment: Payment, limit: int = 3) -> list[str]:
    """A retried collection's earlier references that went out, newest first
    (at most `limit`: each costs the job one status call)."""
    if payment.kind != PaymentKind.COLLECTION or payment.attempt <= 1:
        return []
    rows = s.execute(select(PaymentEvent.reference, PaymentEvent.id)
                     .where(PaymentEvent.payment_id == payment.id,
                            PaymentEvent.reference != payment.reference,
                            PaymentEvent.action == "request")
                     .order_by(PaymentEvent.id.desc()).limit(50))
    seen: list[str] = []
    for reference, _ in rows:
        if reference not in seen:
            seen.append(reference)
        if len(seen) == limit:
            break
    return seen


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


def resume(s: Session, payment: Payment, reference: str, answer: Answer, config: MomoConfig,
           now: datetime | None = None) -> Change:
    """An earlier reference of this collection turned out SUCCESSFUL or still
    PENDING at MTN: it becomes the current one again (the new one was never
    sent) and its answer is applied as any status answer is."""
    now = now or utcnow()
    history(s, payment, "resume", reason=reference[:64])
    payment.reference, payment.status = reference, PaymentStatus.REQUESTED
    payment.requested_at = now
    return record(s, payment, "status", answer, config, now)


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
        return _close_failed(s, payment, answer.reason or str(outcome), now, config)
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
                             else "PENDING_TOO_LONG", now, config)
    if outcome in (Outcome.RETRY, Outcome.NOT_FOUND) and age >= max(config.call_max_age, limit):
        return _close_failed(s, payment, f"unreachable_{answer.reason or outcome}"[:64], now, config)
    waited = max((now - payment.requested_at).total_seconds(), config.poll_first)
    payment.next_check_at = now + _seconds(min(waited, config.poll_cap))
    return Change(payment.id, payment.order_id, payment.status)


# MTN's reasons for a failed collection, and the SMS that explains each to the
# buyer; any other reason gets the plain "failed, try again" text.
FAILED_TEXTS = {
    "NOT_ENOUGH_FUNDS": "payment_failed_funds",
    "APPROVAL_REJECTED": "payment_failed_rejected",
    "EXPIRED": "payment_failed_expired",
    "PAYER_NOT_FOUND": "payment_failed_payer",
    "PAYEE_NOT_ALLOWED_TO_RECEIVE": "payment_failed_payer",
    "NOT_ALLOWED": "payment_failed_payer",
}


# Failures no retry mends: the order becomes cash on delivery.
CASH_INSTEAD = frozenset({"payment_failed_payer"})


def failed_text(reason: str | None) -> str:
    return FAILED_TEXTS.get(str(reason or "").upper(), "payment_failed_other")


def _close_failed(s: Session, payment: Payment, reason: str, now: datetime,
                  config: MomoConfig) -> Change:
    payment.reason, payment.finished_at, payment.next_check_at = reason[:64], now, None
    if payment.kind == PaymentKind.TRANSFER:
        payment.status = PaymentStatus.HELD  # the console lists it for an operator
        return Change(payment.id, payment.order_id, payment.status, held=True)
    payment.status = PaymentStatus.FAILED
    order = s.get(Order, payment.order_id)
    kind = failed_text(payment.reason)
    if kind in CASH_INSTEAD:  # no retry can succeed: the trade goes on in cash
        messages = orders.cash_instead(s, order, kind)
    else:
        dial = orders.dial_string(config.service_code, order.code)
        messages = orders.tell_buyer(s, order, kind, dial=dial)
    return Change(payment.id, payment.order_id, payment.status, messages=_ids(messages))


def _order_moves(s: Session, payment: Payment) -> Change:
    order = s.get(Order, payment.order_id)
    before = order.status
    if payment.kind == PaymentKind.COLLECTION:
        messages = orders.paid(s, order, ACTOR)
    else:
        messages = orders.settled(s, order, payment.amount, ACTOR)
    moved = order.status if order.status != before else None
    return Change(payment.id, payment.order_id, payment.status, moved, _ids(messages))


def _ids(messages) -> tuple[int, ...]:
    return tuple(message.id for message in messages)


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
