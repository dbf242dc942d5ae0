"""Benchmark: SMS throughput and latency through the real SDK and a simulator.

Not a test. Run it with `.venv/bin/python bench/sms.py` (needs the local Redis
and, by default, the test PostgreSQL; `--db sqlite` uses a temporary file).
Everything stays on 127.0.0.1: the provider is the loopback simulator of
`tests/sim`, answering every send after `--delay` seconds (default 50 ms).
It uses database 22 of the bench's own Redis server (`bench/redis_server.py`:
others' tests flush the shared server's) and the PostgreSQL schema `isoko_bench_sms` of the
`test` database, both emptied before and after, and stops by itself.

(a) drain: N queued SMS (default 2,000), then ONE worker process
    (`gateway.worker.runner.run_worker`, RQ's forking Worker, burst mode) sends them
    all; prints SMS/s (target >= 100).
(b) naive: the same with one RQ job per SMS, one provider call per job
    (`gateway.sms.queue.enqueue_send_job`), in RQ's forking Worker (as (a) and
    `gateway worker`) and in a SimpleWorker (no fork per job, its best
    case); prints SMS/s and the ratios a/b.
(c) latency: a running worker, SMS offered at 20/s for 30 s (rate limit
    SMS_RATE_PER_SECOND at its default, 20); prints p50/p95/max seconds from
    enqueue to accepted by the provider (target p95 <= 1 s).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gateway.core.db import Database  # noqa: E402
from gateway.core.models import Language, utcnow
from gateway.sms.models import Message, MessageStatus  # noqa: E402
from tests.sim import ProviderSimulator  # noqa: E402
from bench import redis_server  # noqa: E402
from gateway.sms import queue as queues  # noqa: E402

REDIS_URL = redis_server.url(redis_server.PEERS_DB)
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "isoko_bench_sms"
API_KEY = "bench-api-key"
USERNAME = "isoko"


# --- the worker process -----------------------------------------------------------------


def worker_main(mode: str) -> None:
    """Run in the child: a worker exactly as `gateway worker` would (plus burst)."""
    from gateway.core import redis_conn
    from gateway.core.logs import configure_logging
    from gateway.core.settings import Settings
    from gateway.core import jobs as context
    from gateway.worker import runner

    settings = Settings.from_env(mode="serve")
    configure_logging("WARNING")
    context.configure(settings.database_url, settings=settings)
    connection = redis_conn.connect(settings.redis_url)
    if mode == "burst-simple":
        from rq import SimpleWorker

        runner.run_worker(connection, burst=True, worker_class=SimpleWorker, with_scheduler=False,
                          logging_level="WARNING")
        return
    runner.run_worker(connection, burst=(mode == "burst"), with_scheduler=False, logging_level="WARNING")


def start_worker(mode: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--worker", mode], env={**os.environ, **env},
                            cwd=str(REPO))


# --- helpers -----------------------------------------------------------------------------


def make_database(kind: str, tmp: Path) -> Database:
    if kind == "sqlite":
        db = Database(f"sqlite:///{tmp / 'bench.db'}")
    else:
        import sqlalchemy as sa

        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
            c.execute(sa.text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
        admin.dispose()
        db = Database(f"{PG_ADMIN_URL}?options=-csearch_path%3D{PG_SCHEMA}")
    db.upgrade()
    return db


def drop_database(kind: str, db: Database) -> None:
    db.dispose()
    if kind != "sqlite":
        import sqlalchemy as sa

        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        admin.dispose()


def add_messages(db: Database, count: int, tag: str) -> list[int]:
    with db.session() as s:
        rows = [Message(recipient=f"+2507880{i % 100000:05d}", text=f"Isoko bench {tag} {i}",
                        language=Language.EN, kind="bench", status=MessageStatus.QUEUED,
                        attempts=0, segments=1) for i in range(count)]
        s.add_all(rows)
        s.flush()
        return [m.id for m in rows]


def wait_accepted(sim: ProviderSimulator, tag: str, count: int, timeout: float,
                  worker: subprocess.Popen | None = None) -> list:
    """The accepted messages of `tag` once all `count` are in (or at the timeout,
    or soon after the worker process has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [m for m in sim.received() if m.text.startswith(f"Isoko bench {tag} ")]
        if len(got) >= count:
            return got
        if worker is not None and worker.poll() is not None:
            deadline = min(deadline, time.monotonic() + 1.0)
        time.sleep(0.05)
    got = [m for m in sim.received() if m.text.startswith(f"Isoko bench {tag} ")]
    if not got:
        raise SystemExit(f"bench: no SMS of part {tag!r} reached the simulator")
    return got


def worker_env(db: Database, sim: ProviderSimulator, *, concurrency: int | None = None,
               rate: int = 10_000) -> dict[str, str]:
    """The environment of a bench worker: the bench's database and Redis, the
    simulator as the provider, SMS_RATE_PER_SECOND `rate` (10,000, the most
    Settings accepts: the per-sender throttle lifted), SMS_CONCURRENCY
    `concurrency` (None: Isoko's default)."""
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False), "REDIS_URL": REDIS_URL,
           "AT_USERNAME": USERNAME, "AT_API_KEY": API_KEY, "AT_API_URL": sim.url,
           "SMS_RATE_PER_SECOND": str(rate)}
    if concurrency is not None:
        env["SMS_CONCURRENCY"] = str(concurrency)
    return env


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # RQ: warm shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rate_line(name: str, count: int, first_start: float, got: list) -> float:
    last = max(m.at for m in got)
    first = min(m.at for m in got)
    total = count / (last - first_start)
    sending = count / max(last - first, 1e-9)
    print(f"  {name}: {len(got)}/{count} accepted; {total:.1f} SMS/s from worker start "
          f"(incl. process start-up); {sending:.1f} SMS/s from first to last accepted")
    return sending


# --- the three measurements ---------------------------------------------------------------


def bench_drain(db, connection, sim, env, count: int) -> float:
    ids = add_messages(db, count, "drain")
    for message_id in ids:
        queues.enqueue_sms(connection, message_id)
    started = time.time()
    worker = start_worker("burst", env)
    try:
        got = wait_accepted(sim, "drain", count, timeout=count / 5 + 60, worker=worker)
    finally:
        stop(worker)
    return rate_line("(a) drain, one worker process", count, started, got)


def bench_naive(db, connection, sim, env, count: int, mode: str) -> float:
    tag = f"naive{mode}"
    ids = add_messages(db, count, tag)
    for message_id in ids:
        queues.enqueue_send_job(connection, message_id)
    started = time.time()
    worker = start_worker(mode, env)
    try:
        got = wait_accepted(sim, tag, count, timeout=count / 2 + 60, worker=worker)
    finally:
        stop(worker)
    how = "forking Worker" if mode == "burst" else "SimpleWorker, no fork"
    return rate_line(f"(b) naive, one job per SMS ({how})", count, started, got)


def bench_latency(db, connection, sim, env, seconds: float, offered: float) -> None:
    worker = start_worker("serve", env)
    try:
        time.sleep(2.0)  # let the worker start (imports, first tick)
        sent_at: dict[str, float] = {}
        count = int(seconds * offered)
        start = time.monotonic()
        for i in range(count):
            target = start + i / offered
            time.sleep(max(0.0, target - time.monotonic()))
            with db.session() as s:
                message = Message(recipient=f"+2507881{i % 100000:05d}", text=f"Isoko bench latency {i}",
                                  language=Language.EN, kind="bench", status=MessageStatus.QUEUED,
                                  attempts=0, segments=1, created_at=utcnow())
                s.add(message)
                s.flush()
                message_id = message.id
            sent_at[message.text] = time.time()
            queues.enqueue_sms(connection, message_id)
        got = wait_accepted(sim, "latency", count, timeout=60)
    finally:
        stop(worker)
    latencies = sorted(m.at - sent_at[m.text] for m in got if m.text in sent_at)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"  (c) latency at {offered:.0f} SMS/s offered for {seconds:.0f} s (limit "
          f"{env['SMS_RATE_PER_SECOND']}/s): {len(got)}/{count} accepted; "
          f"enqueue -> accepted p50 {statistics.median(latencies):.3f} s, p95 {p95:.3f} s, "
          f"max {latencies[-1]:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", choices=["burst", "burst-simple", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("-n", type=int, default=2000, help="SMS for (a)")
    parser.add_argument("--naive-n", type=int, default=200, help="SMS for (b)")
    parser.add_argument("--delay", type=float, default=0.05, help="provider answer time, seconds")
    parser.add_argument("--concurrency", type=int, default=32, help="SMS_CONCURRENCY for (a)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of (c)")
    parser.add_argument("--offered", type=float, default=20.0, help="SMS/s offered in (c)")
    parser.add_argument("--rate", type=int, default=20, help="SMS_RATE_PER_SECOND in (c)")
    parser.add_argument("--skip", default="", help="letters of the parts to skip, e.g. 'bc'")
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return

    with redis_server.running():
        run_parts(args)


def run_parts(args) -> None:
    """(a), (b) and (c) in turn, on the bench's own Redis server."""
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    with tempfile.TemporaryDirectory() as tmp, ProviderSimulator(USERNAME, API_KEY, delay=args.delay) as sim:
        db = make_database(args.db, Path(tmp))
        env = worker_env(db, sim, concurrency=args.concurrency)
        print(f"SMS bench: {args.db}, provider answers in {args.delay * 1000:.0f} ms "
              f"(loopback simulator), the bench's Redis db {redis_server.PEERS_DB}")
        try:
            drain = naive = None
            if "a" not in args.skip:
                drain = bench_drain(db, connection, sim, env, args.n)
            if "b" not in args.skip:
                naive = bench_naive(db, connection, sim, env, args.naive_n, "burst")
                simple = bench_naive(db, connection, sim, env, args.naive_n, "burst-simple")
                if drain:
                    print(f"  drain / naive: {drain / naive:.1f}x (forking Worker, as `gateway worker`), "
                          f"{drain / simple:.1f}x (SimpleWorker)")
            if "c" not in args.skip:
                latency_env = {**env, "SMS_RATE_PER_SECOND": str(args.rate), "SMS_CONCURRENCY": "16"}
                bench_latency(db, connection, sim, latency_env, args.seconds, args.offered)
        finally:
            connection.flushdb()
            drop_database(args.db, db)


if __name__ == "__main__":
    main()
