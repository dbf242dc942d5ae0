"""The registered phones' set (`gateway.ussd.registered`): once whole, the
first hop of a phone with no producer says "new" without SQL; a set not
known whole is never believed; registrations and lookups add their phone;
the periodic refresh makes the set whole again from SQL."""
from __future__ import annotations

from datetime import datetime, timezone

import fakeredis
import pytest

from gateway.market import service as market
from gateway.ussd import profiles, registered
from gateway.worker import periodic
from tests.perf.counting import Costs
from tests.ussd.helpers import Phone, register

LANGUAGES = "CON Isoko\nHitamo ururimi"


@pytest.fixture
def costs(gateway, monkeypatch):
    """SQL counters, installed once the menu is loaded (a first dial)."""
    Phone(gateway.http, "+250788123450", session="warm").dial()
    return Costs(monkeypatch, gateway.db.engine)


def _sql(costs, phone: Phone) -> tuple[str, int]:
    """The first hop's reply and the SQL statements it ran (BEGIN left out)."""
    with costs.measure():
        body = phone.dial()
    return body, len([s for s in costs.statements if not s.startswith("BEGIN")])


def _insert_behind_the_gateway(gateway, phone: str, name: str) -> None:
    """A producer row the set never heard of (written by SQL alone)."""
    with gateway.db.session() as s:
        market.register_producer(s, phone=phone, name=name, district_id=1, language="en",
                                 consented_at=datetime.now(timezone.utc))
        s.commit()


def test_a_whole_set_answers_a_never_seen_phone_without_sql(gateway, costs):
    assert registered.refresh(gateway.db, gateway.redis) == 0  # an empty table: only the marker
    body, sql = _sql(costs, Phone(gateway.http, "+250788123456"))
    assert body.startswith(LANGUAGES), body
    assert sql == 0, costs.statements


def test_a_set_not_known_whole_is_not_believed(gateway, costs):
    """No COMPLETE member (a flushed Redis, a set half filled): the phone
    is looked up in SQL, so a producer the set lacks is still greeted."""
    _insert_behind_the_gateway(gateway, "+250788123457", "Mukamana Jeanne")
    gateway.redis.sadd(registered.KEY, "+250788000999")  # some phones, no marker
    body, sql = _sql(costs, Phone(gateway.http, "+250788123457"))
    assert "Hello Mukamana Jeanne" in body and sql == 1, (body, costs.statements)
    assert gateway.redis.sismember(registered.KEY, "+250788123457")  # the lookup added it


def test_registration_adds_its_phone_and_the_next_dial_needs_no_sql(gateway, costs):
    registered.refresh(gateway.db, gateway.redis)
    phone = Phone(gateway.http, "+250788000077")
    register(phone, name="Uwase Aline")
    assert gateway.redis.sismember(registered.KEY, phone.number)
    gateway.redis.delete(profiles.key(phone.number))  # the profile evicted: SQL again, never "new"
    body, sql = _sql(costs, phone)
    assert "Hello Uwase Aline" in body and sql == 1, (body, costs.statements)


def test_the_refresh_fills_what_sql_holds_and_then_rests(gateway):
    phones = [f"+25078810{i:04d}" for i in range(3)]
    for number in phones:
        _insert_behind_the_gateway(gateway, number, "Habimana Eric")
    assert registered.refresh(gateway.db, gateway.redis) == 3
    members = {m.decode() for m in gateway.redis.smembers(registered.KEY)}
    assert members == {*phones, registered.COMPLETE}
    assert registered.refresh(gateway.db, gateway.redis) == 0  # whole: nothing read but a count


def test_a_producer_missed_by_the_set_is_greeted_after_the_refresh(gateway):
    """A row the set missed while it was whole (written behind the gateway,
    or a commit whose Redis write failed) reads as new until the refresh
    sees the set short, and registration hands back the producer there."""
    registered.refresh(gateway.db, gateway.redis)
    _insert_behind_the_gateway(gateway, "+250788123458", "Nshimiyimana Paul")
    phone = Phone(gateway.http, "+250788123458")
    assert phone.dial().startswith(LANGUAGES)
    assert registered.refresh(gateway.db, gateway.redis) == 1  # one producer more than phones
    assert "Hello Nshimiyimana Paul" in phone.dial()
    # And had the caller registered meanwhile, they would have got their own producer back.
    with gateway.db.session() as s:
        again = market.register_producer(s, phone=phone.number, name="Someone Else", district_id=2,
                                         language="fr", consented_at=datetime.now(timezone.utc))
        assert again.name == "Nshimiyimana Paul"


def test_the_refresh_is_a_periodic_task():
    assert "gateway.ussd.registered.refresh_job" in [task.path for task in periodic.tasks()]


def test_the_embedded_store_runs_the_same_check(gateway_factory):
    gw = gateway_factory(redis_client=fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    registered.refresh(gw.db, gw.redis)
    assert gw.redis.sismember(registered.KEY, registered.COMPLETE)
    phone = Phone(gw.http, "+250788123459")
    assert register(phone).startswith("CON Isoko: Hello")
    assert "Hello Jean Bosco" in phone.dial()
