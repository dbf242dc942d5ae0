"""/admin/market/payments: mobile money as operators follow it.

Transfers MTN did not complete are *held*: the seller is not paid until an
operator looks. This page lists payments (held ones first by default), each
with its reason and its last answers; an editor sends a held transfer again
(`service.retry_held_transfer`: same reference after an unknown outcome, a
new one only after a refusal), audited. The order page shows every payment
of its order with its whole history (`order_payments`).
"""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.market import paging
from gateway.console.market.forms import RetryForm
from gateway.operators import accounts as operators
from gateway.operators.models import Role
from gateway.orders.models import Order
from gateway.payments import jobs as payment_jobs
from gateway.payments import service
from gateway.payments.models import Payment, PaymentKind, PaymentStatus

log = logging.getLogger(__name__)
EVENTS_SHOWN = 20  # the newest answers of a payment on the list page


def _item(payment: Payment, order_code: str, masked: bool, events: int = EVENTS_SHOWN) -> dict:
    return {"id": payment.id, "order_id": payment.order_id, "order": order_code,
            "kind": payment.kind.value, "status": payment.status.value, "reason": payment.reason or "",
            "amount": payment.amount, "commission": payment.commission, "currency": payment.currency,
            "phone": paging.shown_phone(payment.phone, masked), "attempt": payment.attempt,
            "created_at": payment.created_at, "finished_at": payment.finished_at,
            "events": [{"at": e.at, "action": e.action, "outcome": e.outcome or "",
                        "status_code": e.status_code, "reason": e.reason or "",
                        "status_after": e.status_after} for e in payment.events[-events:]]}


def order_payments(s: Session, order_id: int, masked: bool) -> list[dict]:
    """Every payment of an order with its whole history, for the order page."""
    payments = s.scalars(select(Payment).where(Payment.order_id == order_id)
                         .options(selectinload(Payment.events)).order_by(Payment.id))
    code = s.scalar(select(Order.code).where(Order.id == order_id))
    return [_item(p, code, masked, events=500) for p in payments]


@bp.get("/market/payments")
@requires(Role.VIEWER)
def market_payments():
    status = paging.query_choice("status", {s.value for s in PaymentStatus} | {"all"}) or "held"
    kind = paging.query_choice("kind", {k.value for k in PaymentKind})
    stmt = (select(Payment, Order.code).join(Order, Order.id == Payment.order_id)
            .options(selectinload(Payment.events)))
    if status != "all":
        stmt = stmt.where(Payment.status == PaymentStatus(status))
    if kind:
        stmt = stmt.where(Payment.kind == PaymentKind(kind))
    filters = {"status": status, **({"kind": kind} if kind else {})}
    masked = paging.hides_phones()
    with services().db.session() as s:
        rows, newer, older = paging.keyset_page(s, stmt, Payment.id)
        items = [_item(payment, code, masked) for payment, code in rows]
    return render_template("console/market/payments.html", items=items, filters=filters,
                           newer=newer, older=older, statuses=["all", *(s.value for s in PaymentStatus)],
                           kinds=[k.value for k in PaymentKind], form=RetryForm(),
                           can_retry=current_operator().can(Role.EDITOR),
                           momo_on=services().settings.momo is not None)


@bp.post("/market/payments/<int:payment_id>/retry")
@requires(Role.EDITOR)
def market_payment_retry(payment_id: int):
    """Send a held transfer again; the job checks it at once."""
    if not RetryForm().validate():
        abort(400, description="the form expired: reload the page")
    op = current_operator()
    with services().db.session() as s:
        payment = s.get(Payment, payment_id, with_for_update=True)
        if payment is None:
            abort(404)
        try:
            service.retry_held_transfer(s, payment, f"op:{op.username}")
        except service.PaymentError as exc:
            flash(f"Payment {payment_id}: {exc}.")
            return redirect(url_for("console.market_payments"))
        code = s.scalar(select(Order.code).where(Order.id == payment.order_id))
        operators.audit(s, "payment_retry", by=op, target=code, detail=f"transfer {payment_id}")
    try:
        payment_jobs.enqueue(services().redis, payment_id)
    except Exception:  # the payment tick finds it within seconds
        log.exception("could not enqueue payment %s", payment_id)
    flash(f"Order {code}: the transfer is sent again.")
    return redirect(url_for("console.market_payments"))
