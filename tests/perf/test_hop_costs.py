"""What a hop costs the shared servers, counted: at most 2 Redis round trips
and no SQL for a navigation hop and for the first hop of a phone seen before
(its producer profile is cached in Redis, read with the session); data and
write hops are counted too, so a regression shows."""
from __future__ import annotations

import json

import psycopg
import pytest

from gateway.ussd import profiles
from tests.perf.counting import Costs
from tests.ussd.helpers import Phone, option, register


@pytest.fixture
def costs(gateway, monkeypatch):
    return Costs(monkeypatch, gateway.db.engine)


def hop(costs, phone: Phone, answer: str | None, *, dial: bool = False):
    with costs.measure() as cost:
        body = phone.dial() if dial else phone.hop(answer)
    return body, cost


def real(costs) -> list[str]:
    """The statements counted, less SQLite's BEGIN IMMEDIATE (a statement of
    its own there; PostgreSQL's BEGIN is not a cursor execute)."""
    return [s for s in costs.statements if not s.startswith("BEGIN")]


def test_a_repeat_first_hop_reads_no_sql_and_one_round_trip(gateway, costs):
    phone = Phone(gateway.http)
    register(phone)
    body, cost = hop(costs, phone, None, dial=True)
    assert body.startswith("CON Isoko: Hello Jean Bosco"), body
    assert cost.sql == 0, costs.statements
    assert cost.redis <= 2, cost


def test_a_missing_profile_is_read_from_sql_once_and_cached(gateway, costs):
    phone = Phone(gateway.http)
    register(phone)
    gateway.redis.delete(profiles.key(phone.number))  # evicted, or never cached
    body, cost = hop(costs, phone, None, dial=True)
    assert "Hello Jean Bosco" in body
    assert cost.sql >= 1 and cost.redis <= 2, cost  # the fill rides on the save
    cached = profiles.loads(gateway.redis.get(profiles.key(phone.number)))
    assert cached["name"] == "Jean Bosco" and cached["lang"] == "en"
    body, cost = hop(costs, phone, None, dial=True)
    assert "Hello Jean Bosco" in body and cost.sql == 0, costs.statements


def test_a_never_seen_phone_costs_one_lookup_outside_any_transaction(gateway, costs, monkeypatch):
    """One indexed SELECT, and on PostgreSQL in autocommit: no BEGIN and no
    COMMIT round trip around it (psycopg sends neither in autocommit), on a
    connection the pool gets back out of autocommit."""
    autocommit = []
    execute = psycopg.Cursor.execute

    def seen(cursor, query, *args, **kwargs):
        if "FROM producers" in str(query):
            autocommit.append(cursor.connection.autocommit)
        return execute(cursor, query, *args, **kwargs)

    # The menu loaded first, so the hop measured reads only the lookup.
    Phone(gateway.http, "+250788123450", session="warm").dial()
    monkeypatch.setattr(psycopg.Cursor, "execute", seen)
    body, cost = hop(costs, Phone(gateway.http, "+250788123456"), None, dial=True)
    assert body.startswith("CON Isoko\nHitamo ururimi"), body
    assert len(real(costs)) == 1 and cost.redis <= 2, (cost, costs.statements)
    if gateway.db.dialect == "postgresql":
        assert autocommit == [True]
        with gateway.db.session() as s:  # the same pooled connection, in a transaction again
            assert not s.connection().connection.dbapi_connection.autocommit


def test_registration_caches_the_profile_it_wrote(gateway):
    phone = Phone(gateway.http, number="+250788000077")
    register(phone, name="Uwase Aline", lang="Francais")
    stored = json.loads(gateway.redis.get(profiles.key(phone.number)))
    assert stored["n"] == "Uwase Aline" and stored["l"] == "fr"
    assert gateway.redis.ttl(profiles.key(phone.number)) > 24 * 3600


def test_a_profile_changed_in_redis_is_what_the_menu_shows(gateway):
    """The first hop trusts the cache (so `forget` after a change matters)."""
    phone = Phone(gateway.http)
    register(phone)
    values = profiles.loads(gateway.redis.get(profiles.key(phone.number)))
    profiles.put(gateway.redis, phone.number, {**values, "name": "Cached Name"})
    assert "Hello Cached Name" in phone.dial()
    profiles.forget(gateway.redis, phone.number)
    assert "Hello Jean Bosco" in phone.dial()


def test_navigation_hops_read_no_sql(gateway, costs):
    phone = Phone(gateway.http)
    register(phone)
    main = phone.dial()
    products = phone.hop(option(main, "Sell goods"))  # loads the process's product list
    assert "Coffee cherry" in products
    body, cost = hop(costs, phone, "0")  # back to the main menu
    assert body == main
    assert cost.sql == 0 and cost.redis <= 2, (cost, costs.statements)
    body, cost = hop(costs, phone, option(main, "Wants"))  # a menu of options only
    assert body.startswith("CON Wants:")
    assert cost.sql == 0 and cost.redis <= 2, (cost, costs.statements)


def test_a_product_list_hop_reads_only_the_catalogue_version(gateway, costs):
    """The list itself comes from the process's cache; its version is one
    primary-key read, kept so another process's change shows at once."""
    phone = Phone(gateway.http)
    register(phone)
    main = phone.dial()
    phone.hop(option(main, "Sell goods"))
    phone.hop("0")
    body, cost = hop(costs, phone, option(main, "Sell goods"))
    assert "Coffee cherry" in body
    reads = real(costs)
    assert len(reads) == 1 and reads[0].startswith("SELECT catalogue_version"), costs.statements
    assert cost.redis <= 2, cost


def test_data_and_write_hops_stay_within_their_counts(gateway, costs, capsys):
    """A listing confirmed (the write hop) and the seller's list (a data hop)."""
    phone = Phone(gateway.http)
    register(phone)
    main = phone.dial()
    body = phone.hop(option(main, "Sell goods"))
    body = phone.hop(option(body, "Coffee cherry"))
    while "quantity" not in body:  # a grade screen, when the product has grades
        body = phone.hop("1")
    body = phone.hop("50")
    body = phone.hop("700")
    assert "1." in body, body  # the confirm screen
    write, write_cost = hop(costs, phone, "1")
    assert "listing" in write.lower() or "code" in write.lower(), write
    assert write_cost.redis <= 2, write_cost
    write_sql = len(real(costs))
    phone.dial()
    data, data_cost = hop(costs, phone, option(main, "My listings"))
    assert "Coffee" in data, data
    data_sql = len(real(costs))
    assert data_cost.redis <= 2 and data_sql <= 4, (data_cost, costs.statements)
    assert write_sql <= 12, write_sql
    with capsys.disabled():
        print(f"\n[{gateway.db.dialect}] write hop: redis={write_cost.redis} sql={write_sql}; "
              f"data hop: redis={data_cost.redis} sql={data_sql} (BEGIN not counted)")
