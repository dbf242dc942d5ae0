"""Payments on SQLite and PostgreSQL, through a real RQ worker against the
loopback MoMo simulator (and, for callbacks, the gateway on a loopback port)."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from rq.worker import SimpleWorker
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from gateway.core import jobs as context
from gateway.core.models import utcnow
from gateway.core.settings import Settings
from gateway.orders import service as orders
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.payments import jobs, service, trade
from gateway.payments.models import Payment, PaymentEvent, PaymentKind, PaymentStatus
from gateway.payments.momo import MomoClient, Outcome
from gateway.sms import keys as sms_keys
from gateway.web import create_app
from gateway.web.services import build_services
from tests.market.test_service import OTHER_PHONE, PHONE, new_listing, register
from tests.sim.fixtures import restore_signals  # noqa: F401
from tests.sim.momo import Failed, HttpError, MomoSimulator, Pending, Successful


class Env:
    def __init__(self, db, redis, sim, settings):
        self.db, self.redis, self.sim, self.settings = db, redis, sim, settings
        self.config = settings.momo

    def order(self, total_quantity: int = 4) -> int:
        """An accepted order of 4 x 700 RWF from the buyer (OTHER_PHONE) to the seller (PHONE)."""
        with self.db.session() as s:
            seller = register(s, language="rw", name="Seller")
            buyer = register(s, phone=OTHER_PHONE, language="fr", name="Buyer")
            listing, _ = new_listing(s, seller, quantity=10, price=700)
            order, _ = orders.place_order(s, listing_id=listing.id, quantity=total_quantity,
                                          buyer_id=buyer.id, buyer_phone=OTHER_PHONE)
            trade.accept(s, seller_id=seller.id, code=order.code, config=self.config)
            return order.id

    def collect(self, order_id: int) -> int:
        """What the order flow does on acceptance (and on a retry from USSD)."""
        with self.db.session() as s:
            payment = service.start_collection(s, s.get(Order, order_id), self.config)
            payment_id = payment.id
        jobs.enqueue(self.redis, payment_id)
        return payment_id

    def pay_out(self, order_id: int) -> int:
        """What the order flow does on delivery (here the buyer confirms receipt)."""
        with self.db.session() as s:
            [payment_id] = trade.confirm_receipt(s, s.get(Order, order_id), "buyer", self.config).payments
        jobs.enqueue(self.redis, payment_id)
        return payment_id

    def burst(self) -> None:
        SimpleWorker([jobs.PAYMENTS_QUEUE], connection=self.redis,
                     serializer=sms_keys.SERIALIZER).work(burst=True)

    def settle(self, rounds: int = 10) -> None:
        """Worker bursts and ticks until nothing is due (every check is due at once in tests)."""
        for _ in range(rounds):
            self.burst()
            if not jobs.due_ids(self.db):
                return
            for payment_id in jobs.due_ids(self.db):
                jobs.enqueue(self.redis, payment_id)

    def payment(self, payment_id: int) -> Payment:
        with self.db.session() as s:
            return s.get(Payment, payment_id)

    def order_status(self, order_id: int) -> str:
        with self.db.session() as s:
            return s.get(Order, order_id).status

    def events(self, payment_id: int) -> list[tuple[str, str | None, str]]:
        with self.db.session() as s:
            return [(e.action, e.outcome, e.status_after) for e in s.scalars(
                select(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
                .order_by(PaymentEvent.id))]

    def order_events(self, order_id: int) -> list[str]:
        with self.db.session() as s:
            return [e.status for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                                .order_by(OrderEvent.id))]


@pytest.fixture
def momo(database, redis_client, restore_signals):  # noqa: F811
    with MomoSimulator(max_hang=2.0) as sim:
        config = replace(sim.config(commission_percent=2.5), timeout=(1.0, 0.5), poll_first=0.0,
                         poll_cap=0.0)
        url = database.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, momo=config)
        context.configure(url, settings=settings)
        try:
            yield Env(database, redis_client, sim, settings)
        finally:
            context.reset()


def test_success_pays_the_order_then_the_seller_is_paid_less_commission(momo):
    order_id = momo.order()
    payment_id = momo.collect(order_id)
    momo.settle()
    paid = momo.payment(payment_id)
    assert (paid.status, paid.amount, paid.phone) == (PaymentStatus.SUCCESSFUL, 2800, OTHER_PHONE)
    assert paid.financial_id
    assert momo.order_status(order_id) == OrderStatus.PAID
    assert momo.events(payment_id) == [("start", None, "new"), ("request", None, "new"),
                                       ("request", "accepted", "requested"),
                                       ("status", "successful", "successful")]
    [request] = momo.sim.transactions("requesttopay")
    assert (request.reference, request.party, request.amount) == (paid.reference, "250722000002", 2800)

    transfer_id = momo.pay_out(order_id)
    momo.settle()
    transfer = momo.payment(transfer_id)
    assert (transfer.status, transfer.amount, transfer.commission) == (PaymentStatus.SUCCESSFUL, 2730, 70)
    [sent] = momo.sim.transactions("transfer")
    assert (sent.party, sent.amount) == (PHONE.lstrip("+"), 2730)
    assert momo.order_status(order_id) == OrderStatus.SETTLED
    assert momo.order_events(order_id) == ["pending", "accepted", "paid", "delivered", "settled"]


def test_no_transfer_before_the_buyer_paid_and_no_collection_before_acceptance(momo):
    order_id = momo.order()
    with momo.db.session() as s:
        listing_id = s.get(Order, order_id).listing_id
        pending, _ = orders.place_order(s, listing_id=listing_id, quantity=1, buyer_phone=OTHER_PHONE)
        with pytest.raises(service.PaymentError, match="accepted"):
            service.start_collection(s, pending, momo.config)
    with momo.db.session() as s, pytest.raises(service.PaymentError, match="not succeeded"):
        service.start_transfer(s, s.get(Order, order_id), momo.config)


def test_failed_with_reason_then_the_buyer_retries(momo):
    order_id = momo.order()
    momo.sim.script_result(Failed("NOT_ENOUGH_FUNDS"))
    payment_id = momo.collect(order_id)
    momo.settle()
    failed = momo.payment(payment_id)
    assert (failed.status, failed.reason) == (PaymentStatus.FAILED, "NOT_ENOUGH_FUNDS")
    assert momo.order_status(order_id) == OrderStatus.ACCEPTED
    first = failed.reference

    assert momo.collect(order_id) == payment_id  # the same row: one collection per order
    momo.settle()
    paid = momo.payment(payment_id)
    assert (paid.status, paid.attempt, paid.reason) == (PaymentStatus.SUCCESSFUL, 2, None)
    assert paid.reference != first
    assert [t.status for t in momo.sim.transactions("requesttopay")] == ["FAILED", "SUCCESSFUL"]
    assert momo.order_status(order_id) == OrderStatus.PAID


def test_starting_twice_while_open_changes_nothing(momo):
    order_id = momo.order()
    payment_id = momo.collect(order_id)
    reference = momo.payment(payment_id).reference
    assert momo.collect(order_id) == payment_id
    assert momo.payment(payment_id).reference == reference
    with pytest.raises(IntegrityError), momo.db.session() as s:
        s.add(Payment(order_id=order_id, kind=PaymentKind.COLLECTION, status=PaymentStatus.NEW,
                      reference="00000000-0000-4000-8000-000000000000", attempt=1, phone=OTHER_PHONE,
                      amount=1, commission=0, currency="RWF"))
        s.flush()


def test_pending_past_the_limit_counts_as_expired(momo):
    context.configure(momo.settings.database_url,
                      settings=replace(momo.settings, momo=replace(momo.config, pending_limit=0.0)))
    order_id = momo.order()
    momo.sim.script_result(Pending())
    payment_id = momo.collect(order_id)
    momo.settle()
    expired = momo.payment(payment_id)
    assert (expired.status, expired.reason) == (PaymentStatus.FAILED, "EXPIRED")
    assert momo.order_status(order_id) == OrderStatus.ACCEPTED


def test_a_server_error_is_retried_with_the_same_reference(momo):
    order_id = momo.order()
    momo.sim.script_call(HttpError(500))
    payment_id = momo.collect(order_id)
    momo.settle()
    payment = momo.payment(payment_id)
    assert payment.status == PaymentStatus.SUCCESSFUL
    posts = [c for c in momo.sim.calls if c.method == "POST" and c.reference]
    assert [(c.reference, c.answer) for c in posts] == [(payment.reference, "500"),
                                                        (payment.reference, "202")]


@pytest.fixture
def gateway_url(momo):
    """The gateway on a loopback port, as create_app wires it (the callback blueprint included)."""
    services = build_services(momo.settings, redis_client=momo.redis)
    app = create_app(services=services)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/momo/callback"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        services.db.dispose()


def test_the_callback_settles_at_once_and_duplicates_change_nothing(momo, gateway_url):
    config = replace(momo.config, callback_url=gateway_url, poll_first=3600.0)  # no polling in time
    context.configure(momo.settings.database_url, settings=replace(momo.settings, momo=config))
    momo.sim.callbacks = True
    order_id = momo.order()
    momo.sim.script_result(Pending())
    payment_id = momo.collect(order_id)
    momo.burst()
    payment = momo.payment(payment_id)
    assert payment.status == PaymentStatus.REQUESTED and not jobs.due_ids(momo.db)

    # A forged SUCCESSFUL while MTN still says PENDING moves nothing.
    forged = momo.sim.transaction(payment.reference)
    assert momo.sim.callback(payment.reference, f"{gateway_url}?reference={payment.reference}") == 200
    assert forged.status == "PENDING"
    momo.burst()
    assert momo.payment(payment_id).status == PaymentStatus.REQUESTED

    momo.sim.finish(payment.reference, Successful())  # MTN's one callback
    assert momo.sim.callbacks_sent[-1] == (payment.reference, 200)
    momo.burst()
    assert momo.payment(payment_id).status == PaymentStatus.SUCCESSFUL
    assert momo.order_status(order_id) == OrderStatus.PAID
    before = momo.events(payment_id)

    for _ in range(2):  # duplicates, by POST too
        url = f"{gateway_url}?reference={payment.reference}"
        assert momo.sim.callback(payment.reference, url, method="POST") == 200
        momo.burst()
    after = momo.events(payment_id)
    assert after[:len(before)] == before
    assert after[len(before):] == [("callback", "successful", "successful")] * 2
    assert momo.order_events(order_id).count("paid") == 1
    assert len([c for c in momo.sim.calls if c.method == "GET"]) == 2  # the checks after callbacks 1, 2


def test_a_callback_with_no_known_reference_is_answered_and_ignored(momo, gateway_url):
    reply = requests.post(f"{gateway_url}?reference=6f1c1d2e-0000-4000-8000-000000000001",
                          json={"status": "SUCCESSFUL"}, timeout=5)
    assert (reply.status_code, reply.text) == (200, "unknown reference")
    assert requests.post(gateway_url, data="nonsense", timeout=5).status_code == 400


def _paid_order(momo) -> int:
    order_id = momo.order()
    momo.collect(order_id)
    momo.settle()
    assert momo.order_status(order_id) == OrderStatus.PAID
    return order_id


def _delivered_order(momo) -> int:
    """A paid order the buyer received, its transfer not created yet."""
    order_id = _paid_order(momo)
    with momo.db.session() as s:
        orders.confirm_receipt(s, s.get(Order, order_id), "buyer")
    return order_id


def _lease_ends(momo, payment_id: int) -> None:
    with momo.db.session() as s:
        s.execute(update(Payment).where(Payment.id == payment_id)
                  .values(next_check_at=utcnow() - timedelta(seconds=1)))


def test_a_worker_killed_between_the_transfer_and_its_recording_pays_once(momo):
    order_id = _delivered_order(momo)
    with momo.db.session() as s:
        payment_id = service.start_transfer(s, s.get(Order, order_id), momo.config).id
    # The dead worker: it claimed the row, its call reached MTN, it recorded nothing.
    kind, status, reference, sent_before, phone, amount, code, _ = jobs._claim(momo.db, payment_id)
    assert (kind, status, sent_before) == (PaymentKind.TRANSFER, PaymentStatus.NEW, False)
    answer = MomoClient(momo.config, timeout=(1.0, 1.0)).transfer(
        reference, phone=phone, total=amount, external_id=code, payer_message="m", payee_note="n")
    assert answer.outcome == Outcome.ACCEPTED
    assert jobs.run(payment_id) is None  # still leased: no second job acts meanwhile

    _lease_ends(momo, payment_id)
    jobs.enqueue(momo.redis, payment_id)
    momo.settle()
    assert momo.payment(payment_id).status == PaymentStatus.SUCCESSFUL
    assert momo.order_status(order_id) == OrderStatus.SETTLED
    assert len(momo.sim.transactions("transfer")) == 1
    posts = [c for c in momo.sim.calls if c.method == "POST" and c.path.endswith("/transfer")]
    assert len(posts) == 1  # found by its reference, never sent again
    assert momo.events(payment_id)[-1] == ("status", "successful", "successful")


def test_a_worker_killed_before_the_call_sends_it_on_the_next_run(momo):
    order_id = _delivered_order(momo)
    with momo.db.session() as s:
        payment_id = service.start_transfer(s, s.get(Order, order_id), momo.config).id
    jobs._claim(momo.db, payment_id)  # ... and died before calling
    _lease_ends(momo, payment_id)
    jobs.enqueue(momo.redis, payment_id)
    momo.settle()
    assert momo.payment(payment_id).status == PaymentStatus.SUCCESSFUL
    assert len(momo.sim.transactions("transfer")) == 1
    actions = [(a, o) for a, o, _ in momo.events(payment_id)]
    assert ("status", "not_found") in actions


def test_a_failed_transfer_is_held_for_an_operator_then_sent_again(momo):
    order_id = _paid_order(momo)
    momo.sim.script_result(Failed("PAYEE_NOT_FOUND"))
    payment_id = momo.pay_out(order_id)
    momo.settle()
    held = momo.payment(payment_id)
    assert (held.status, held.reason) == (PaymentStatus.HELD, "PAYEE_NOT_FOUND")
    assert momo.order_status(order_id) == OrderStatus.DELIVERED
    with momo.db.session() as s:
        service.retry_held_transfer(s, s.get(Payment, payment_id), "operator:alice")
        assert s.scalar(select(func.count()).select_from(Payment)
                        .where(Payment.order_id == order_id, Payment.kind == PaymentKind.TRANSFER)) == 1
    jobs.enqueue(momo.redis, payment_id)
    momo.settle()
    assert momo.payment(payment_id).status == PaymentStatus.SUCCESSFUL
    assert [t.status for t in momo.sim.transactions("transfer")] == ["FAILED", "SUCCESSFUL"]
    assert momo.order_status(order_id) == OrderStatus.SETTLED
