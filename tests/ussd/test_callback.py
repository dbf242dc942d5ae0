"""The provider's USSD callback, end to end on real Redis and SQL."""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from gateway.market.models import Listing, Producer
from gateway.sms.models import Message
from tests.ussd.helpers import Phone, check_reply, option, register


def test_first_hop_offers_the_three_languages(gateway):
    body = Phone(gateway.http).dial()
    assert body.startswith("CON ")
    for language in ("Kinyarwanda", "English", "Francais"):
        assert language in body


def test_registration_stores_the_producer_with_consent(gateway):
    phone = Phone(gateway.http, number="0788 123 456")
    body = register(phone, name="  Mukamana   Alice ", district="Nyamasheke", lang="Francais")
    assert body.startswith("CON ") and "Bonjour Mukamana Alice" in body
    with gateway.db.session() as s:
        producer = s.scalars(select(Producer)).one()
        assert producer.phone == "+250788123456"  # normalised once, at the edge
        assert producer.name == "Mukamana Alice"
        assert producer.language == "fr"
        assert producer.consented_at is not None
        district = s.execute(select(func.count()).where(Producer.district_id == producer.district_id)).scalar()
        assert district == 1


def test_refusing_consent_registers_nothing(gateway):
    phone = Phone(gateway.http)
    body = phone.dial()
    body = phone.walk(option(body, "English"), "Jean")
    body = phone.hop(option(body, "Bugesera"))
    body = phone.hop("2")
    assert body.startswith("END ") and "consent" in body
    with gateway.db.session() as s:
        assert s.scalar(select(func.count(Producer.id))) == 0


def sell(phone: Phone, product: str, grade: str | None, quantity: str, price: str) -> str:
    body = phone.hop(option(phone_main(phone), "Sell"))
    body = phone.hop(option(body, product))
    if grade:
        body = phone.hop(option(body, grade))
    body = phone.hop(quantity)
    body = phone.hop(price)
    return body


def phone_main(phone: Phone) -> str:
    return phone.dial()


def test_listing_with_grade_gets_a_code_and_a_queued_receipt(gateway):
    phone = Phone(gateway.http)
    register(phone)
    summary = sell(phone, "Parchment coffee", "Grade A", "1 000 kg", "3,000")
    assert "1,000 kg x 3,000 RWF" in summary and "Total: 3,000,000 RWF" in summary
    done = phone.hop("1")
    assert done.startswith("END Listed! Code: ")
    code = done.split("Code: ")[1][:6]
    with gateway.db.session() as s:
        listing = s.scalars(select(Listing)).one()
        assert (listing.code, listing.quantity, listing.unit_price, listing.grade) == (code, 1000, 3000, "A")
        message = s.scalars(select(Message)).one()
        assert message.recipient == "+250788000001" and code in message.text
        assert message.status == "queued"
    assert gateway.redis.llen("rq:queue:isoko-sms") == 1


def test_product_without_grades_skips_the_grade_question(gateway):
    phone = Phone(gateway.http)
    register(phone)
    body = phone.hop(option(phone.dial(), "Sell"))
    body = phone.hop(option(body, "Green tea"))
    assert "Green tea leaf: quantity (kg)?" in body


def test_invalid_input_shows_error_and_the_same_prompt(gateway):
    phone = Phone(gateway.http)
    register(phone)
    body = phone.hop(option(phone.dial(), "Sell"))
    prompt = phone.hop(option(body, "Green tea"))
    again = phone.hop("2.5")
    assert again.startswith("CON Enter a whole number.") and prompt[4:] in again
    again = phone.hop("lots")
    assert again.startswith("CON Enter a number") and prompt[4:] in again


def test_every_hop_replayed_gives_the_same_body_and_creates_nothing_twice(gateway):
    phone = Phone(gateway.http)
    answers = [None, "2", "Jean Bosco", "98", "3", "1", "1", "2", "1", "50kg", "3000", "1"]
    bodies = {}
    for answer in answers:
        bodies[answer] = first = phone.hop(answer)
        for _ in range(2):
            replay = phone.post(phone.text)
            assert replay.get_data(as_text=True) == first
    # An older hop retransmitted late also gets its own first answer back.
    two_back = "*".join(phone.inputs[:-2])
    assert phone.post(two_back).get_data(as_text=True) == bodies["50kg"]
    with gateway.db.session() as s:
        assert s.scalar(select(func.count(Producer.id))) == 1
        assert s.scalar(select(func.count(Listing.id))) == 1
        assert s.scalar(select(func.count(Message.id))) == 1


def test_a_crash_inside_a_hop_is_a_polite_end_and_a_log_line(gateway, monkeypatch, caplog):
    from gateway.ussd import actions

    def broken(env, values):
        raise RuntimeError("database on fire")

    monkeypatch.setitem(actions.REGISTRY, "identify", (broken, frozenset({"registered", "new"})))
    phone = Phone(gateway.http)
    with caplog.at_level(logging.ERROR):
        body = phone.dial()
    from gateway.ussd.hop import SORRY
    assert body == "END " + SORRY["rw"]  # no language chosen yet: Kinyarwanda
    assert any("ussd hop failed" in r.getMessage() for r in caplog.records)
    assert "+250788000001" not in caplog.text  # the number is masked
    assert phone.post("").get_data(as_text=True) == body  # a retransmission: same answer


def test_redis_down_still_answers_end(gateway_factory):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    gw = gateway_factory(redis_client=dead)
    response = gw.http.post("/at/ussd", data=Phone(gw.http).form(""))
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("END ")
    assert gw.http.get("/healthz").status_code == 503
    dead.close()


def test_health_reports_both_services(gateway):
    response = gateway.http.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"redis": True, "database": True, "menu": True}


def test_callback_token_guards_provider_routes(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": "a-long-random-callback-secret"})
    phone = Phone(gw.http)
    assert phone.post("").status_code == 403
    phone.token = "wrong-token-wrong-token"
    assert phone.post("").status_code == 403
    phone.token = "a-long-random-callback-secret"
    check_reply(phone.post("").get_data(as_text=True))
