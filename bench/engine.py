"""Benchmark: engine time per hop, and Redis round trips per hop.

Not a test. Run it with `make bench` (or `.venv/bin/python bench/engine.py`).

1. Engine time: the pure `menus.engine` on the shipped marketplace menu, with
   in-memory list sources, walking registration and a listing again and
   again; prints the median and p95 microseconds per hop (target: median
   <= 50 us).
2. Round trips: the whole `/at/ussd` callback through Flask's test client on a
   real Redis (database 23 of the bench's own server, `bench/redis_server.py`) and a
   SQLite file, counting every command batch sent to Redis (a pipeline is one
   round trip); prints the count per hop (target: <= 2).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from menus import engine  # noqa: E402
from menus.loader import load  # noqa: E402
from bench import redis_server  # noqa: E402

MENU = Path(__file__).resolve().parent.parent / "menus" / "definitions" / "marketplace.yaml"
DISTRICTS = ["Bugesera", "Burera", "Gakenke", "Gasabo", "Gatsibo", "Gicumbi", "Gisagara", "Huye",
             "Kamonyi", "Karongi", "Kayonza", "Kicukiro", "Kirehe", "Muhanga", "Musanze"]
PRODUCTS = [engine.Item("1", "Coffee cherry", {"unit": "kg", "ref": 700}),
            engine.Item("2", "Parchment coffee", {"unit": "kg", "ref": 3200})]
GRADES = [engine.Item("A", "Grade A"), engine.Item("B", "Grade B")]
# One whole journey: language, name, district (paged), consent, sell with grade.
INPUTS = ["2", "Jean Bosco", "98", "3", "1", "1", "2", "1", "50kg", "3000", "1"]
OUTCOMES = {"identify": ("new", {}), "register": ("ok", {"producer_id": 1}), "market_now": ("none", {}),
            "price_listing": ("ok", {"total": 150000}), "create_listing": ("ok", {"listing_code": "123456"})}


# Built once, as the gateway's sources cache districts and the catalogue in process.
DISTRICT_ITEMS = [engine.Item(str(i), n) for i, n in enumerate(DISTRICTS, 1)]


def _items(source, values, lang):
    if source == "districts":
        return DISTRICT_ITEMS
    if source == "products":
        return PRODUCTS
    if source == "grades":
        return GRADES if values.get("product") == "2" else []
    return []


def _journey(menu, ctx) -> list[float]:
    """Seconds spent in the engine for each hop of one journey."""
    times = []
    t0 = time.perf_counter()
    turn = engine.start(menu, {"phone": "+250788000001"}, ctx)
    while turn.action:
        turn = engine.resume(menu, turn.state, *OUTCOMES[turn.action.name], ctx)
    times.append(time.perf_counter() - t0)
    for text in INPUTS:
        t0 = time.perf_counter()
        turn = engine.step(menu, turn.state, text, ctx)
        while turn.action:
            turn = engine.resume(menu, turn.state, *OUTCOMES[turn.action.name], ctx)
        times.append(time.perf_counter() - t0)
    assert turn.end and "123456" in turn.text, turn.text
    return times


def bench_engine(rounds: int = 5, journeys: int = 400) -> None:
    """Several rounds, each's median printed: on a shared 2-core machine
    other processes inflate some rounds; the lowest is the engine's own cost."""
    menu = load(yaml.safe_load(MENU.read_text()), 1)
    ctx = engine.Context(_items)
    for _ in range(50):
        _journey(menu, ctx)  # warm up
    medians, p95s = [], []
    for _ in range(rounds):
        us = sorted(t * 1e6 for _ in range(journeys) for t in _journey(menu, ctx))
        medians.append(statistics.median(us))
        p95s.append(us[int(len(us) * 0.95)])
    print(f"engine: {rounds} rounds of {journeys * (len(INPUTS) + 1)} hops; median per round "
          + ", ".join(f"{m:.1f}" for m in medians)
          + f" us (best {min(medians):.1f} us, target <= 50 us); p95 best {min(p95s):.1f} us")


class CountingConnection(redis.Connection):
    """A Redis connection that counts writes to the socket: one per round trip."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def bench_round_trips(journeys: int = 20) -> None:
    from gateway.web.app import create_app
    from gateway.web.services import bootstrap, build_services
    from gateway.core.settings import Settings

    url = redis_server.url(redis_server.COUNTS_DB)
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    client.flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "REDIS_URL": url})
        services = build_services(settings, redis_client=client)
        bootstrap(services)
        http = create_app(services=services).test_client()
        per_hop: list[int] = []
        for j in range(journeys):
            phone, texts = f"+25078{8000000 + j:07d}", [""]
            for text in INPUTS:
                texts.append(text if texts[-1] == "" else f"{texts[-1]}*{text}")
            for text in texts:
                before = CountingConnection.sent
                body = http.post("/at/ussd", data={"sessionId": f"bench-{j}", "phoneNumber": phone,
                                                   "serviceCode": "*384*7#", "networkCode": "63510",
                                                   "text": text}).get_data(as_text=True)
                per_hop.append(CountingConnection.sent - before)
            assert body.startswith("END ") and "Code:" in body, body
        services.db.dispose()
    client.flushdb()
    # The first hops of a process also fill caches (menu head); report steady state too.
    steady = per_hop[len(INPUTS) + 1:]
    print(f"round trips: {len(per_hop)} hops through /at/ussd; mean {statistics.mean(per_hop):.2f}, "
          f"max {max(per_hop)} per hop; after the first journey mean {statistics.mean(steady):.2f}, "
          f"max {max(steady)} (target: <= 2)")


if __name__ == "__main__":
    bench_engine()
    with redis_server.running():
        bench_round_trips()
