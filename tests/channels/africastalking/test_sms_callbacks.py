"""The provider's SMS callbacks: delivery reports and incoming SMS, through the
app on the tests' database and Redis, with replies sent by a real worker."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from gateway.market import service as market
from gateway.market.models import Listing
from gateway.sms.models import DeliveryReport, InboundSms, Message, MessageStatus, OptOut
from tests.sim import ProviderSimulator
from tests.sim.fixtures import PHONE, restore_signals, sms  # noqa: F401

DELIVERY, INBOUND = "/at/sms/delivery", "/at/sms/inbound"


@pytest.fixture
def app(sms, gateway):
    """The gateway app on the same database and Redis as the `sms` worker context."""
    assert gateway.db.url == sms.db.url
    return gateway.http


def inbound_form(text: str, provider_id: str = "in-1", phone: str = PHONE) -> dict:
    return {"from": phone, "to": "21555", "text": text, "date": "2026-11-28 08:00:00",
            "id": provider_id, "linkId": "link-1", "networkCode": "63510"}


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def messages(db) -> list[Message]:
    with db.session() as s:
        return list(s.scalars(select(Message).order_by(Message.id)))


# --- delivery reports ---------------------------------------------------------------------------


def test_a_report_moves_the_delivery_status_forward_only(sms, app):
    message_id = sms.queue()
    sms.burst()
    provider_id = sms.load(message_id).provider_message_id
    for status in ("Submitted", "Success", "Buffered", "Failed"):
        reply = app.post(DELIVERY, data=ProviderSimulator.report_form(provider_id, status))
        assert (reply.status_code, reply.get_data(as_text=True)) == (200, "ok")
        assert reply.mimetype == "text/plain"
    message = sms.load(message_id)
    assert message.delivery_status == "Success"  # Buffered and Failed came too late
    assert message.delivered_at is not None and message.failure_reason is None
    assert message.status == MessageStatus.SENT
    assert count(sms.db, DeliveryReport) == 4  # every report is kept


def test_a_failed_delivery_keeps_the_reason(sms, app):
    message_id = sms.queue()
    sms.burst()
    provider_id = sms.load(message_id).provider_message_id
    app.post(DELIVERY, data=ProviderSimulator.report_form(provider_id, "Rejected",
                                                           failure_reason="UserInBlackList"))
    message = sms.load(message_id)
    assert (message.delivery_status, message.failure_reason, message.delivered_at) == \
        ("Rejected", "UserInBlackList", None)


def test_a_report_that_arrives_before_the_send_is_recorded_is_applied_after(sms, app):
    message_id = sms.queue()
    # The simulator's first id is ATXid_1: its report beats our own "sent" write.
    reply = app.post(DELIVERY, data=ProviderSimulator.report_form("ATXid_1", "Success"))
    assert reply.status_code == 200
    with sms.db.session() as s:
        [report] = s.scalars(select(DeliveryReport)).all()
        assert (report.provider_message_id, report.applied) == ("ATXid_1", False)
    sms.burst()
    message = sms.load(message_id)
    assert (message.provider_message_id, message.delivery_status) == ("ATXid_1", "Success")
    with sms.db.session() as s:
        assert s.scalar(select(DeliveryReport.applied)) is True


def test_a_report_with_an_unknown_status_is_stored_and_changes_nothing(sms, app):
    message_id = sms.queue()
    sms.burst()
    provider_id = sms.load(message_id).provider_message_id
    assert app.post(DELIVERY, data=ProviderSimulator.report_form(provider_id, "Teleported")).status_code == 200
    assert sms.load(message_id).delivery_status is None
    assert count(sms.db, DeliveryReport) == 1


MALFORMED_REPORTS = [
    ({"id": None}, "id missing"),
    ({"id": "has space"}, "id malformed"),
    ({"status": None}, "status missing"),
    ({"status": "Success!"}, "status malformed"),
    # A report with its id and status is stored whatever its optional fields
    # hold (tests/security/test_input_reports.py): only key fields refuse it.
    ({"id": None, "retryCount": "-1", "networkCode": "MTN"}, "id missing"),
]


def test_a_malformed_report_is_a_400_with_a_reason(sms, app):
    for change, reason in MALFORMED_REPORTS:
        form = {k: v for k, v in {**ProviderSimulator.report_form("ATXid_9"), **change}.items()
                if v is not None}
        reply = app.post(DELIVERY, data=form)
        assert reply.status_code == 400, change
        assert reason in reply.get_data(as_text=True), change
    assert count(sms.db, DeliveryReport) == 0


def test_the_callback_token_guards_the_sms_callbacks(sms, gateway_factory):
    token = "t" * 32
    http = gateway_factory({"CALLBACK_TOKEN": token}).http
    form = ProviderSimulator.report_form("ATXid_1")
    assert http.post(DELIVERY, data=form).status_code == 403
    assert http.post(INBOUND, data=inbound_form("HELP")).status_code == 403
    assert http.post(f"{DELIVERY}?token={token}", data=form).status_code == 200


# --- incoming SMS ----------------------------------------------------------------------------------


def test_an_incoming_sms_is_stored_once_however_often_it_is_posted(sms, app):
    first = app.post(INBOUND, data=inbound_form("Hello Isoko", "ATin-7"))
    again = app.post(INBOUND, data=inbound_form("Hello Isoko", "ATin-7"))
    assert (first.status_code, first.get_data(as_text=True)) == (200, "ok")
    assert (again.status_code, again.get_data(as_text=True)) == (200, "duplicate")
    with sms.db.session() as s:
        [row] = s.scalars(select(InboundSms)).all()
        assert (row.provider_id, row.sender, row.text, row.action) == ("ATin-7", PHONE, "Hello Isoko", None)
        assert (row.short_code, row.link_id, row.network_code) == ("21555", "link-1", "63510")
    assert messages(sms.db) == []  # no keyword, no reply


def test_the_sender_is_normalised(sms, app):
    app.post(INBOUND, data=inbound_form("hi", phone="0788 000 001"))
    with sms.db.session() as s:
        assert s.scalar(select(InboundSms.sender)) == PHONE


def test_stop_opts_out_confirms_once_and_nothing_follows(sms, app):
    assert app.post(INBOUND, data=inbound_form(" Stop ", "in-1")).status_code == 200
    assert app.post(INBOUND, data=inbound_form("STOP", "in-2")).status_code == 200  # again
    with sms.db.session() as s:
        opt_out = s.get(OptOut, PHONE)
        assert opt_out is not None and opt_out.keyword == "Stop"
        assert s.scalars(select(InboundSms.action)).all() == ["stop", "stop"]
    sms.burst()
    [confirmation] = sms.sim.received()
    # An unregistered sender is answered in the keyword's language: STOP is English.
    assert confirmation.to == PHONE and "Send START" in confirmation.text
    assert confirmation.text.startswith("Isoko: you will get no more SMS")
    # A receipt queued later is dropped, not sent.
    receipt = sms.queue(kind="listing_receipt")
    sms.burst()
    assert sms.load(receipt).failure_reason == "opted_out"
    assert len(sms.sim.received()) == 1


def test_start_lifts_the_opt_out(sms, app):
    app.post(INBOUND, data=inbound_form("HAGARIKA", "in-1"))
    app.post(INBOUND, data=inbound_form("tangira", "in-2"))
    with sms.db.session() as s:
        assert s.get(OptOut, PHONE) is None
    assert [m.kind for m in messages(sms.db)] == ["sms_stop", "sms_start"]
    receipt = sms.queue()
    sms.burst()
    assert sms.load(receipt).status == MessageStatus.SENT


def test_help_is_answered_with_the_ussd_code_in_the_producers_language(sms, app):
    with sms.db.session() as s:
        market.register_producer(s, phone="+250788000002", name="Marie", district_id=1, language="fr",
                                 consented_at=datetime.now(timezone.utc))
    app.post(INBOUND, data=inbound_form("aide", "in-1", phone="+250788000002"))
    app.post(INBOUND, data=inbound_form("Ubufasha", "in-2"))  # not registered: Kinyarwanda
    sms.burst()
    texts = {m.to: m.text for m in sms.sim.received()}
    assert texts["+250788000002"].startswith("Isoko: composez *384*7# pour vendre")
    assert texts[PHONE].startswith("Isoko: kanda *384*7# ngo ugurishe")


def test_help_is_answered_even_to_an_opted_out_number(sms, app):
    app.post(INBOUND, data=inbound_form("STOP", "in-1"))
    app.post(INBOUND, data=inbound_form("HELP", "in-2"))
    sms.burst()
    assert sorted(m.kind for m in messages(sms.db) if m.status == MessageStatus.SENT) == ["sms_help", "sms_stop"]


@pytest.mark.parametrize("stop, start, lang, paused_words, back_words", [
    ("STOP", "START", "en", "Your listings are paused", "your listings are back on sale"),
    ("hagarika", "Tangira", "rw", "Ibicuruzwa byawe byakuwe ku isoko", "ibicuruzwa byawe byagarutse"),
    ("Arrêt", "DÉMARRER", "fr", "Vos offres sont suspendues", "vos offres sont remises en vente"),
])
def test_stop_pauses_a_sellers_listings_in_the_keywords_language_and_start_restores_them(
        sms, app, stop, start, lang, paused_words, back_words):
    """Each seller registered in `lang` and sends the keyword in it."""
    with sms.db.session() as s:
        market.register_producer(s, phone=PHONE, name="Marie", district_id=1, language=lang,
                                 consented_at=datetime.now(timezone.utc))
        seller = market.find_producer(s, PHONE).id
        on_sale, sold_out, withdrawn = (
            market.create_listing(s, producer_id=seller, product_id=1, grade=None, quantity=q,
                                  unit_price=700)[0] for q in (10, 5, 7))
        sold_out.quantity, sold_out.status = 0, "sold_out"
        market.withdraw_listing(s, producer_id=seller, listing_id=withdrawn.id)
        ids = on_sale.id, sold_out.id, withdrawn.id
    app.post(INBOUND, data=inbound_form(stop, "in-1"))
    with sms.db.session() as s:
        assert [s.get(Listing, i).status for i in ids] == ["paused", "paused", "withdrawn"]
        assert market.offers(s, 1) == []  # what USSD buyers see (the API reads active ones only)
    sms.burst()
    [told] = [m for m in sms.sim.received() if "Isoko: " in m.text and paused_words in m.text]
    assert told.to == PHONE  # sent although the number just opted out
    app.post(INBOUND, data=inbound_form(start, "in-2"))
    with sms.db.session() as s:
        assert [s.get(Listing, i).status for i in ids] == ["active", "sold_out", "withdrawn"]
        assert [m.kind for m in s.scalars(select(Message).where(Message.kind.like("sms_%"))
                                           .order_by(Message.id))] == ["sms_stop_seller", "sms_start_seller"]
    sms.burst()
    assert any(back_words in m.text for m in sms.sim.received())


def test_stop_from_someone_who_sells_nothing_is_the_plain_confirmation_in_french(sms, app):
    app.post(INBOUND, data=inbound_form("ARRET", "in-1"))
    sms.burst()
    [told] = sms.sim.received()
    assert told.text == "Isoko: vous ne recevrez plus nos SMS. Envoyez DEMARRER pour les recevoir à nouveau."


MALFORMED_INBOUND = [
    ({"id": None}, "id missing"),
    ({"from": None}, "from missing or not a valid number"),
    ({"from": "not a phone"}, "from missing or not a valid number"),
    ({"text": None}, "text missing"),
    ({"text": "x" * 5001}, "text too long"),
    ({"from": "0788 CALL ME"}, "from missing or not a valid number"),
    # Odd optional fields no longer refuse an SMS (tests/security/test_input_reports.py).
    ({"id": None, "networkCode": "6351O", "to": "short code!"}, "id missing"),
]


def test_a_malformed_incoming_sms_is_a_400_with_a_reason(sms, app):
    for change, reason in MALFORMED_INBOUND:
        form = {k: v for k, v in {**inbound_form("HELP"), **change}.items() if v is not None}
        reply = app.post(INBOUND, data=form)
        assert reply.status_code == 400, change
        assert reason in reply.get_data(as_text=True), change
    assert count(sms.db, InboundSms) == 0 and messages(sms.db) == []


def test_the_simulator_posts_reports_to_a_running_gateway(sms, gateway):
    """Loopback all the way: the simulator POSTs a report to the app served
    over HTTP on 127.0.0.1, as the provider would."""
    import threading

    from werkzeug.serving import make_server

    from gateway.web.app import create_app

    message_id = sms.queue()
    sms.burst()
    server = make_server("127.0.0.1", 0, create_app(services=gateway.services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}{DELIVERY}"
        assert sms.sim.report(url, sms.load(message_id).provider_message_id, "Delivered?") == 400
        assert sms.sim.report(url, sms.load(message_id).provider_message_id, "Buffered") == 200
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert sms.load(message_id).delivery_status == "Buffered"
