"""Counts per hop kind: Redis round trips, SQL statements, Redis memory per live session.

Not a test. `make bench` runs it (`--quick` for fewer repetitions). In one
process, through Flask's test client, on the real servers: database 23 of the
bench's own Redis server (`bench/redis_server.py`) and a PostgreSQL schema of
its own migrated by the release step's code (`bootstrap`). It drives the same
journeys as `bench/hops.py`, checking every reply, and counts

- Redis round trips: every batch written to a Redis socket (a pipeline is
  one), by a counting connection class in the client's pool;
- SQL statements: every statement handed to the driver (psycopg's
  `Cursor.execute`/`executemany`, wrapped for the bench's process), so the
  lookups `Database.read_one` sends past SQLAlchemy count too;
- memory per live session: the server's `used_memory` before and after
  `--sessions` first hops of distinct phones (the private server holds
  nothing else), and `MEMORY USAGE` of each key kind a session leaves.

Results go to a JSON file (`--out`) that `bench/report.py` reads.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import redis_server  # noqa: E402
from bench.hops import DATA, HELLO, MENU, NAV, PG_ADMIN, REGISTER, SELL, psql  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.ussd import registered  # noqa: E402
from gateway.web.app import create_app  # noqa: E402
from gateway.web.services import bootstrap, build_services  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_SCHEMA = "isoko_bench_counts"
SESSION_ID = "ATUid_bench0000000000000000000000"  # the provider's id shape, for a true key size

# Which hop of which journey is which kind (the journeys are bench/hops.py's).
# A journey's hops after the first are named by position; `None` = not counted.
JOURNEYS = {
    "first_unknown": ("fresh", [("", MENU)], ["first_unknown"]),
    "first_known": ("known", [("", HELLO)], ["first_known"]),
    "navigation": ("fresh", NAV, ["first_unknown"] + ["navigation"] * (len(NAV) - 1)),
    # DATA: odd steps open the product list (a data hop), even ones go back to the menu.
    "data": ("known", DATA, ["first_known", "data", "navigation", "data", "navigation", "data"]),
    # SELL: every hop between the product list and the confirmation reads data
    # (the product's grades, the price screen's "market now" line, the price
    # check); the last hop confirms the listing (SQL writes, an SMS queued).
    "write": ("known", SELL, ["first_known", "data", "data", "data", "data", "write"]),
    "register": ("fresh", REGISTER, ["first_unknown", "navigation", "navigation", "navigation", "write"]),
}


class CountingConnection(redis.Connection):
    """A Redis connection that counts the batches it writes (one per round trip)."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


class SqlCounter:
    """Counts the statements this process hands psycopg (every engine's,
    and those sent past SQLAlchemy)."""

    def __init__(self) -> None:
        self.n = 0
        for name in ("execute", "executemany"):
            setattr(psycopg.Cursor, name, self._counting(getattr(psycopg.Cursor, name)))

    def _counting(self, driver):
        def counted(cursor, query, *args, **kwargs):
            self.n += 1
            return driver(cursor, query, *args, **kwargs)
        return counted


def app_and_counters():
    """Isoko's app on the bench's Redis database and PostgreSQL schema, bootstrapped."""
    url = redis_server.url(redis_server.COUNTS_DB)
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    client.flushdb()
    psql(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE; CREATE SCHEMA "{PG_SCHEMA}"')
    pg = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://") + f"?options=-csearch_path%3D{PG_SCHEMA}"
    settings = Settings.from_env({"DATABASE_URL": pg, "REDIS_URL": url, "USSD_HOPS_PER_MINUTE": "10000"})
    services = build_services(settings, redis_client=client)
    bootstrap(services)
    # What a deploy's worker does within its first minute (the periodic
    # refresh): the registered phones' set made whole.
    registered.refresh(services.db, client)
    return create_app(services=services).test_client(), client, SqlCounter(), services


def hop(http, session: str, phone: str, text: str, expect: str) -> str:
    """One hop through `POST /at/ussd`; fails the bench on a reply that is not `expect`."""
    body = http.post("/at/ussd", data={"sessionId": session, "phoneNumber": phone, "serviceCode": "*384*7#",
                                       "networkCode": "63510", "text": text}).get_data(as_text=True)
    if not body.startswith(expect):
        raise SystemExit(f"hop {text!r} of {phone[:6]}… answered {body[:60]!r}, expected {expect!r}")
    return body


def register(http, phones: list[str]) -> None:
    for i, phone in enumerate(phones):
        for text, expect in REGISTER:
            hop(http, f"bench-count-reg-{i}", phone, text, expect)


def count_kinds(http, sql: SqlCounter, repeats: int, known: list[str]) -> dict[str, dict]:
    """Round trips and statements of every hop, grouped by hop kind.

    Each journey runs `repeats` times; the first run of each only warms the
    process's caches (menu, catalogue list) and is left out, as a worker's
    first hops are once per process, not per hop."""
    per_kind: dict[str, dict[str, list[int]]] = {}
    serial = 0
    for name, (phones, steps, kinds) in JOURNEYS.items():
        for r in range(repeats + 1):
            serial += 1
            phone = known[serial % len(known)] if phones == "known" else f"+2507851{serial:05d}"
            for (text, expect), kind in zip(steps, kinds):
                rt0, sql0 = CountingConnection.sent, sql.n
                hop(http, f"bench-count-{serial}", phone, text, expect)
                if r == 0:
                    continue
                slot = per_kind.setdefault(kind, {"redis": [], "sql": []})
                slot["redis"].append(CountingConnection.sent - rt0)
                slot["sql"].append(sql.n - sql0)
    return {kind: {"hops": len(v["redis"]), "redis_median": statistics.median(v["redis"]),
                   "redis_max": max(v["redis"]), "sql_median": statistics.median(v["sql"]),
                   "sql_max": max(v["sql"])} for kind, v in per_kind.items()}


def key_kind(key: bytes) -> str:
    """`isoko:ussd:s:<id>` -> `isoko:ussd:s`: the key's kind without the session, phone or minute."""
    parts = key.decode().split(":")
    return ":".join(parts[:3]) if len(parts) > 3 else key.decode()


def memory_per_session(http, client: redis.Redis, sessions: int) -> dict:
    """`used_memory` delta over `sessions` live sessions (one first hop each), by key kind."""
    client.flushdb()
    before = client.info("memory")["used_memory"]
    for i in range(sessions):
        hop(http, f"{SESSION_ID[:-6]}{i:06d}", f"+2507861{i:05d}", "", MENU)
    after = client.info("memory")["used_memory"]
    kinds: dict[str, dict] = {}
    # Bounded: one SCAN pass with a sample of at most 100 keys per kind.
    for key in client.scan_iter(count=1000):
        slot = kinds.setdefault(key_kind(key), {"keys": 0, "sampled": []})
        slot["keys"] += 1
        if len(slot["sampled"]) < 100:
            slot["sampled"].append(client.memory_usage(key) or 0)
    by_kind = {k: {"keys": v["keys"], "bytes_per_key": statistics.median(v["sampled"])} for k, v in kinds.items()}
    return {"sessions": sessions, "used_memory_delta": after - before,
            "bytes_per_session": (after - before) / sessions, "by_kind": by_kind}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repetitions of each journey instead of 20")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "counts.json"))
    args = parser.parse_args()
    with redis_server.running():
        http, client, sql, services = app_and_counters()
        try:
            known = [f"+2507870{i:05d}" for i in range(8)]
            register(http, known)
            kinds = count_kinds(http, sql, 5 if args.quick else 20, known)
            memory = memory_per_session(http, client, args.sessions)
        finally:
            client.flushdb()
            services.db.dispose()
            psql(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
    data = {"kinds": kinds, "memory": memory, "command": " ".join(["bench/counts.py"] + sys.argv[1:])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=1))
    for kind, c in kinds.items():
        print(f"{kind:14s} {c['hops']:4d} hops  Redis round trips median {c['redis_median']:g} max {c['redis_max']}"
              f"  SQL statements median {c['sql_median']:g} max {c['sql_max']}")
    print(f"Redis memory: {memory['used_memory_delta']} bytes for {memory['sessions']} live sessions, "
          f"{memory['bytes_per_session']:.0f} bytes per session; by key kind: "
          + ", ".join(f"{k} {v['keys']} keys x {v['bytes_per_key']:.0f} B" for k, v in memory["by_kind"].items()))


if __name__ == "__main__":
    main()
