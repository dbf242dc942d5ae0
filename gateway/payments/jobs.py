"""The payment jobs: `check(id)` moves one payment a step, `tick()` queues the due ones.

`check` follows the house rules: it takes an id, re-reads the row, acts only
if it is open and due, and owns its transactions, which are short and never
span a call to MTN:

1. claim: under the row lock, move `next_check_at` a lease ahead (a second
   job for it finds it not due) and, for a request about to go out, write
   its "request" event first;
2. call MTN outside any transaction: a NEW payment is sent (request to pay
   or transfer) with its stored reference; a REQUESTED one, or a NEW one
   whose reference may already have gone out (a "request" event with no
   recorded answer: a worker died between the call and its recording), is
   looked up by reference first, and sent only if MTN does not know it;
3. record: under the row lock again, apply the answer if the reference is
   still current (`service.record`), and write it to the history.

A job Redis loses changes nothing: the row is still open and due, and the
next `tick` (every 5 s) queues it again. Callbacks only make a payment due now.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from redis import Redis
from sqlalchemy import select, update

from gateway.core import jobs as context
from gateway.core.db import Database
from gateway.core.models import utcnow
from gateway.core.settings import MomoConfig
from gateway.orders.models import Order
from gateway.payments import service
from gateway.payments.models import OPEN, Payment, PaymentKind, PaymentStatus
from gateway.payments.momo import Answer, MomoClient, Outcome
from gateway.sms import keys as sms_keys
from gateway.sms import queue as sms_queue

log = logging.getLogger(__name__)

PAYMENTS_QUEUE = "isoko-payments"
JOB_TIMEOUT = 90  # seconds: at most four calls (token, a 401's fresh token, status, request)
LEASE = timedelta(seconds=JOB_TIMEOUT + 30)
RESULT_TTL = 300  # the payment events are the record
FAILURE_TTL = int(timedelta(days=7).total_seconds())
DUE_BATCH = 500
def client(config: MomoConfig) -> MomoClient:
    """The process's MoMo client (its token cache lives as long as the process)."""
    return context.per_process("momo", lambda: MomoClient(config, timeout=config.timeout))


def enqueue(connection: Redis, payment_id: int) -> bool:
    """Queue `check(payment_id)` unless one is pending; True when queued."""
    return sms_keys.enqueue_once(sms_keys.queue(connection, PAYMENTS_QUEUE), check, payment_id,
                                 job_id=f"momo-{int(payment_id)}", timeout=JOB_TIMEOUT,
                                 result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                                 description=f"check payment {int(payment_id)}")


def due_ids(db: Database, limit: int = DUE_BATCH) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Payment.id)
                              .where(Payment.status.in_(OPEN), Payment.next_check_at <= utcnow())
                              .order_by(Payment.next_check_at).limit(limit)))


def tick(connection: Redis | None = None) -> int:
    """Queue every due open payment; returns how many were queued. Idempotent."""
    if context.settings().momo is None:
        return 0
    db = context.database()
    connection = connection or context.redis()
    return sum(enqueue(connection, payment_id) for payment_id in due_ids(db))


def check(payment_id: int) -> str:
    """Move payment `payment_id` one step if it is open and due; returns its
    status afterwards (or "not_due", "off")."""
    change = run(payment_id)
    return "not_due" if change is None else str(change.status)


def run(payment_id: int) -> service.Change | None:
    """`check`, returning the Change (None when there was nothing to do)."""
    config = context.settings().momo
    if config is None:
        return None
    db = context.database()
    claimed = _claim(db, payment_id)
    if claimed is None:
        return None
    kind, status, reference, sent_before, phone, amount, order_code, earlier = claimed
    momo = client(config)
    resumed = _resume_earlier(db, momo, payment_id, reference, earlier, config)
    if resumed is not None:
        return _after(resumed, payment_id)
    action, answer = "status", None
    if status == PaymentStatus.REQUESTED or sent_before:
        answer = _status(momo, kind, reference)
    if answer is None or answer.outcome == Outcome.NOT_FOUND:
        if answer is not None:
            _record(db, payment_id, reference, "status", answer, config)  # keep the lookup too
            _mark_sending(db, payment_id, reference)
        action, answer = "request", _send(momo, kind, reference, phone, amount, order_code)
    return _after(_record(db, payment_id, reference, action, answer, config), payment_id)


def _after(change: service.Change, payment_id: int) -> service.Change:
    """Once a change is committed: its SMS enqueued, a held transfer logged."""
    connection = context.redis()
    for message_id in change.messages:
        sms_queue.enqueue_sms(connection, message_id)
    if change.held:
        log.warning("payment %s: transfer held for an operator", payment_id)
    return change


def _claim(db: Database, payment_id: int):
    """(kind, status, reference, sent before, phone, amount, order code,
    earlier references to ask about first) of a claimed payment, or None
    when it is not open and due."""
    with db.session() as s:
        now = utcnow()
        payment = s.get(Payment, payment_id, with_for_update=True)
        if payment is None or payment.status not in OPEN or payment.next_check_at is None \
                or payment.next_check_at > now:
            return None
        claimed = s.execute(update(Payment)
                            .where(Payment.id == payment_id, Payment.status.in_(OPEN),
                                   Payment.next_check_at <= now)
                            .values(next_check_at=now + LEASE)
                            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return None
        sent_before = payment.status == PaymentStatus.NEW and service.was_sent(s, payment)
        if payment.status == PaymentStatus.NEW and not sent_before:
            service.mark_sending(s, payment)
        code = s.scalar(select(Order.code).where(Order.id == payment.order_id))
        earlier = (service.earlier_references(s, payment)
                   if payment.status == PaymentStatus.NEW and not sent_before else [])
        return (payment.kind, payment.status, payment.reference, sent_before, payment.phone,
                payment.amount, code, earlier)


def _resume_earlier(db: Database, momo: MomoClient, payment_id: int, reference: str,
                    earlier: list[str], config: MomoConfig) -> service.Change | None:
    """Before a retried collection asks again, ask MTN about the references it
    replaces: one we counted as expired may have been approved since (or be
    still awaiting approval). Then that one is the payment, and the new
    request is never sent, so a buyer is never charged twice."""
    for old in earlier:
        answer = momo.request_to_pay_status(old)
        if answer.outcome not in (Outcome.SUCCESSFUL, Outcome.PENDING):
            continue
        with db.session() as s:
            payment = s.get(Payment, payment_id, with_for_update=True)
            if payment.reference != reference:
                return service.Change(payment.id, payment.order_id, payment.status)
            return service.resume(s, payment, old, answer, config)
    return None


def _mark_sending(db: Database, payment_id: int, reference: str) -> None:
    with db.session() as s:
        payment = s.get(Payment, payment_id, with_for_update=True)
        if payment.reference == reference:
            service.mark_sending(s, payment)


def _status(momo: MomoClient, kind: PaymentKind, reference: str) -> Answer:
    if kind == PaymentKind.COLLECTION:
        return momo.request_to_pay_status(reference)
    return momo.transfer_status(reference)


def _send(momo: MomoClient, kind: PaymentKind, reference: str, phone: str, amount: int,
          order_code: str) -> Answer:
    if kind == PaymentKind.COLLECTION:
        return momo.request_to_pay(reference, phone=phone, total=amount, external_id=order_code,
                                   payer_message=f"Isoko order {order_code}",
                                   payee_note=f"Isoko order {order_code}")
    return momo.transfer(reference, phone=phone, total=amount, external_id=order_code,
                         payer_message=f"Isoko order {order_code}",
                         payee_note=f"Isoko: payment for order {order_code}")


def _record(db: Database, payment_id: int, reference: str, action: str, answer: Answer,
            config: MomoConfig) -> service.Change:
    with db.session() as s:
        payment = s.get(Payment, payment_id, with_for_update=True)
        if payment.reference != reference:
            # Renewed meanwhile (the buyer retried): the answer is history only.
            service.history(s, payment, action, answer, reference=reference)
            return service.Change(payment.id, payment.order_id, payment.status)
        return service.record(s, payment, action, answer, config)
