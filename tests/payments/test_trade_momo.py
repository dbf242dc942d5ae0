"""The whole trade paid by mobile money, by USSD, on SQLite and PostgreSQL:
the gateway with MOMO_* set against the loopback MoMo simulator, the payment
jobs run by a real RQ worker. Order → accept (the buyer is asked to pay, the
two sides meet) → paid (the delivery code comes with it) → the seller enters
the code → delivered → the seller's transfer → settled; a failed payment
told in the buyer's language and paid again from *My orders*; a number with
no MoMo account turns the order to cash."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from rq.worker import SimpleWorker
from sqlalchemy import select

from gateway.core import jobs as context
from gateway.core.settings import Settings
from gateway.orders.models import Order, OrderEvent
from gateway.payments import jobs
from gateway.payments.models import Payment, PaymentKind, PaymentStatus
from gateway.sms import keys as sms_keys
from gateway.sms.models import Message
from gateway.web.app import create_app
from gateway.web.services import bootstrap, build_services
from tests.conftest import TEST_REDIS_URL, Gateway
from tests.sim.fixtures import restore_signals  # noqa: F401
from tests.sim.momo import API_KEY, API_USER, ENVIRONMENT, SUBSCRIPTION_KEY, Failed, MomoSimulator
from tests.ussd.helpers import Phone, option, register
from tests.ussd.test_orders_ussd import _buy, _seller_with_listing

SELLER, BUYER = "+250788000001", "+250722000002"


class Trade(Gateway):
    sim: MomoSimulator = None

    def settle(self, rounds: int = 10) -> None:
        """Run the payment jobs until nothing is due (every check is due at once here)."""
        for _ in range(rounds):
            for payment_id in jobs.due_ids(self.db):
                jobs.enqueue(self.redis, payment_id)
            SimpleWorker([jobs.PAYMENTS_QUEUE], connection=self.redis,
                         serializer=sms_keys.SERIALIZER).work(burst=True)
            if not jobs.due_ids(self.db):
                return

    def texts(self, kind: str) -> list[tuple[str, str]]:
        with self.db.session() as s:
            return [(m.recipient, m.text) for m in s.scalars(select(Message).where(Message.kind == kind)
                                                             .order_by(Message.id))]

    def order(self) -> Order:
        with self.db.session() as s:
            order = s.scalars(select(Order)).one()
            s.expunge(order)
            return order

    def history(self) -> list[str]:
        with self.db.session() as s:
            return [str(e.status) for e in s.scalars(select(OrderEvent).order_by(OrderEvent.id))]

    def payment(self, kind: PaymentKind) -> Payment:
        with self.db.session() as s:
            payment = s.scalars(select(Payment).where(Payment.kind == kind)).one()
            s.expunge(payment)
            return payment


@pytest.fixture
def trade(database, redis_client, restore_signals):  # noqa: F811
    url = database.url.render_as_string(hide_password=False)
    with MomoSimulator(max_hang=2.0) as sim:
        settings = Settings.from_env({
            "DATABASE_URL": url, "REDIS_URL": TEST_REDIS_URL, "MOMO_API_URL": sim.url,
            "MOMO_SUBSCRIPTION_KEY": SUBSCRIPTION_KEY, "MOMO_API_USER": API_USER,
            "MOMO_API_KEY": API_KEY, "MOMO_TARGET_ENVIRONMENT": ENVIRONMENT,
            "MOMO_COMMISSION_PERCENT": "2.5"})
        # Polling at once, short timeouts: the test drives the clock through the jobs.
        settings = replace(settings, momo=replace(settings.momo, timeout=(1.0, 0.5), poll_first=0.0,
                                                  poll_cap=0.0))
        services = build_services(settings, redis_client=redis_client)
        bootstrap(services)
        context.configure(url, settings=settings)
        gateway = Trade(services, create_app(services=services).test_client())
        gateway.sim = sim
        try:
            yield gateway
        finally:
            context.reset()
            services.db.dispose()


def _accepted(trade: Trade) -> tuple[Phone, Phone, str]:
    """An order of 4 kg x 700 RWF by USSD, accepted by the seller."""
    seller = _seller_with_listing(trade)
    buyer = Phone(trade.http, BUYER, session="buyer")
    register(buyer, name="Buyer Uwase", lang="Francais")
    _buy(buyer, "4", buy="Acheter", product="Café cerise")
    code = buyer.hop("1").split()[2]
    body = seller.hop(option(seller.dial(), "My orders"))
    body = seller.hop(option(body, code))
    assert seller.hop(option(body, "Accept")).startswith(f"END Order {code} accepted.")
    return seller, buyer, code


def _delivery_code(text: str) -> str:
    return re.search(r"(\d{4})\.", text.split("livraison:")[1]).group(1)


def test_paid_delivered_and_settled_by_mobile_money(trade):
    seller, buyer, code = _accepted(trade)
    # The two sides meet; the buyer is asked to approve the payment, no code yet.
    [(to, accepted)] = trade.texts("order_accepted")
    assert to == BUYER and "Vendeur: Seller, +250788000001, Huye" in accepted
    [(to, told)] = trade.texts("order_accepted_seller_momo")
    assert to == SELLER and "Buyer: Buyer Uwase, +250722000002" in told and "2,800 RWF by MoMo" in told
    assert trade.texts("payment_requested") == [
        (BUYER, f"Isoko: validez le paiement MoMo de 2,800 RWF pour la commande {code}. "
                "Votre code de livraison arrive après le paiement.")]
    assert trade.texts("delivery_code") == []

    # Before the payment the seller cannot hand over, the buyer cannot confirm.
    body = seller.hop(option(seller.hop(option(seller.dial(), "My orders")), code))
    body = seller.hop(option(body, "Delivered"))
    assert seller.hop("1234") == (f"END Order {code} is not paid yet. Hand over only once Isoko "
                                  "tells you by SMS that it is paid.")

    trade.settle()
    collection = trade.payment(PaymentKind.COLLECTION)
    assert (collection.status, collection.amount, collection.phone) == (PaymentStatus.SUCCESSFUL, 2800, BUYER)
    [request] = trade.sim.transactions("requesttopay")
    assert (request.reference, request.party, request.amount) == (collection.reference, BUYER.lstrip("+"), 2800)
    assert trade.order().status == "paid"
    [(to, paid)] = trade.texts("payment_received_buyer")
    assert to == BUYER and paid.startswith(f"Isoko: commande {code} payée (2,800 RWF).")
    [(to, _)] = trade.texts("payment_received_seller")
    assert to == SELLER

    hand = Phone(trade.http, SELLER, session="hand", code=f"*384*7*{code}#")
    body = hand.hop(option(hand.dial(), "Delivered"))
    assert hand.hop(_delivery_code(paid)) == f"END Order {code} delivered. You both get an SMS."
    assert trade.order().status == "delivered"

    trade.settle()
    transfer = trade.payment(PaymentKind.TRANSFER)
    assert (transfer.status, transfer.amount, transfer.commission, transfer.phone) == (
        PaymentStatus.SUCCESSFUL, 2730, 70, SELLER)
    [sent] = trade.sim.transactions("transfer")
    assert (sent.party, sent.amount) == (SELLER.lstrip("+"), 2730)
    assert trade.order().status == "settled"
    assert trade.history() == ["pending", "accepted", "paid", "delivered", "settled"]
    [(to, payout)] = trade.texts("payout_sent")
    assert to == SELLER and "2,730 RWF" in payout
    # Settling again changes nothing: one collection, one transfer, one SMS each.
    trade.settle()
    assert len(trade.sim.transactions("requesttopay")) == len(trade.sim.transactions("transfer")) == 1
    assert len(trade.texts("payout_sent")) == len(trade.texts("payment_received_buyer")) == 1


def test_a_failed_payment_is_explained_and_paid_again_from_my_orders(trade):
    trade.sim.script_result(Failed("NOT_ENOUGH_FUNDS"))
    _, buyer, code = _accepted(trade)
    trade.settle()
    assert trade.payment(PaymentKind.COLLECTION).status == PaymentStatus.FAILED
    assert trade.order().status == "accepted"
    assert trade.texts("payment_failed_funds") == [
        (BUYER, f"Isoko: paiement de 2,800 RWF pour la commande {code} échoué: solde MoMo insuffisant. "
                f"Composez *384*7*{code}# pour réessayer.")]

    again = Phone(trade.http, BUYER, session="again")
    body = again.hop(option(again.dial(), "Mes commandes"))
    body = again.hop(option(body, code))
    assert body.startswith(f"CON {code}: 4 kg Café cerise\nVendeur: Seller\n{SELLER}\nPas encore payée.")
    assert again.hop(option(body, "Payer par MoMo")).startswith("END Validez le paiement MoMo de 2,800 RWF")
    # A second request while this one waits for approval sends nothing new.
    twice = Phone(trade.http, BUYER, session="twice")
    body = twice.hop(option(twice.hop(option(twice.dial(), "Mes commandes")), code))
    assert twice.hop(option(body, "Payer par MoMo")).startswith("END Une demande MoMo de 2,800 RWF attend")

    trade.settle()
    payment = trade.payment(PaymentKind.COLLECTION)
    assert (payment.status, payment.attempt) == (PaymentStatus.SUCCESSFUL, 2)
    assert [t.status for t in trade.sim.transactions("requesttopay")] == ["FAILED", "SUCCESSFUL"]
    assert trade.order().status == "paid"
    assert len(trade.texts("payment_received_buyer")) == 1
    # Paid now: the buyer's order screen offers the receipt, not a payment.
    after = Phone(trade.http, BUYER, session="after")
    body = after.hop(option(after.hop(option(after.dial(), "Mes commandes")), code))
    assert "Commande arrivée" in body and "Payer par MoMo" not in body


def test_an_approval_late_after_our_expiry_is_not_charged_twice(trade):
    """MTN approved the first request after we counted it as expired: the
    retry finds that out before asking again, and the order is paid once."""
    _, buyer, code = _accepted(trade)
    first = trade.payment(PaymentKind.COLLECTION)
    trade.settle()  # the simulator approves it...
    with trade.db.session() as s:  # ... but our record says it expired first
        payment = s.get(Payment, first.id)
        payment.status, payment.reason, payment.next_check_at = PaymentStatus.FAILED, "EXPIRED", None
        order = s.get(Order, first.order_id)
        order.status, order.delivery_code_hash = "accepted", None
    again = Phone(trade.http, BUYER, session="again")
    body = again.hop(option(again.hop(option(again.dial(), "Mes commandes")), code))
    assert again.hop(option(body, "Payer par MoMo")).startswith("END Validez le paiement MoMo")
    trade.settle()
    payment = trade.payment(PaymentKind.COLLECTION)
    assert (payment.status, payment.reference) == (PaymentStatus.SUCCESSFUL, first.reference)
    assert len(trade.sim.transactions("requesttopay")) == 1  # the new reference was never sent


def test_a_number_without_mobile_money_trades_in_cash(trade):
    trade.sim.script_result(Failed("PAYER_NOT_FOUND"))
    seller, _, code = _accepted(trade)
    trade.settle()
    [(to, text)] = trade.texts("payment_failed_payer")
    assert to == BUYER and "en espèces" in text
    [(to, _)] = trade.texts("payment_cash_seller")
    assert to == SELLER
    hand = Phone(trade.http, SELLER, session="hand", code=f"*384*7*{code}#")
    hand.hop(option(hand.dial(), "Delivered"))
    assert hand.hop(_delivery_code(text)) == f"END Order {code} delivered. You both get an SMS."
    trade.settle()
    with trade.db.session() as s:  # cash: no transfer, the order stays delivered
        assert s.scalars(select(Payment).where(Payment.kind == PaymentKind.TRANSFER)).all() == []
    assert trade.order().status == "delivered"
