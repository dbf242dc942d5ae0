"""Growth: Isoko's hops as live sessions and web workers grow, SMS as RQ workers grow.

Not a test. `make bench` runs it (`--quick` for short runs, about 5 minutes).
It reuses the machinery of `bench/hops.py` (gunicorn with
`config/gunicorn.conf.py` on loopback ports, the release step's data, wrk
with every reply checked by `bench/journey.lua`) and of `bench/sms.py` (the
loopback provider simulator, the worker processes), all on the bench's own
Redis server (`bench/redis_server.py`). Every run is bounded and everything
stops by itself.

(a) Live sessions: Isoko's Redis database holds N live sessions, N = 1,000,
    10,000, 100,000, then the floor, first_known and navigation hops run
    under wrk. Making 100,000 sessions through the app would take longer
    than their TTL, so they are written the way a hop writes them: copies of
    sessions that real hops left (a first hop of a new phone; a registration
    at the district page, with its resume snapshot; a registered phone's
    first hop, with its profile), each with a phone and session id of its
    own, saved by `SessionStore.finish` plus the per-phone hop counter
    `SessionStore.begin` keeps. Before each level every session key and
    the hop stream are removed and the level written afresh (so every
    session is live, within its TTL); the levels are interleaved, their
    order rotating per round. Each run also records what Redis itself spent
    (microseconds per command, CPU per hop), which the machine's noise
    does not move as much as wrk's latencies.
    The floor runs at every level too: it shares the Redis server but not the
    keyspace, so it tells a slower machine from a slower keyspace.
(b) Web workers: floor and Isoko under gunicorn with WEB_CONCURRENCY 1, 2, 4
    (4 threads each), the same kinds, from 1,000 live sessions (plus those
    the runs leave).
(c) SMS: 1, 2, 4 RQ worker processes (`gateway worker`'s code, started and
    idle before the batch) send a fixed batch through the loopback provider
    (50 ms per send) with the per-sender throttle lifted
    (SMS_RATE_PER_SECOND 10,000); SMS/s from enqueue to the last accepted.
    Twice per worker count: as a broadcast enqueues (`enqueue_many`: one
    drain job woken) and with one drain job per worker (the others woken by
    `wake(force=True)`), since a worker with no drain job sends nothing.

Results go to var/bench/growth.json, which `bench/report.py` turns into the
"Growth" section of docs/performance.md and its plots.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.commands import CoreCommands
from rq import Worker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import hops, redis_server, sms  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.sms import jobs as sms_jobs  # noqa: E402
from gateway.sms import queue as sms_queue  # noqa: E402
from gateway.ussd import profiles, sessions  # noqa: E402
from gateway.ussd.sessions import Record, SessionStore  # noqa: E402
from tests.sim import ProviderSimulator  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (1_000, 10_000, 100_000)
WEB_WORKERS = (1, 2, 4)
SMS_WORKERS = (1, 2, 4)
KINDS = ("floor", "first_known", "navigation")
SMS_MODES = ("one_drain", "drain_per_worker")
SMS_DELAY = 0.05  # seconds the simulator takes per send, as bench/sms.py's default
# Filler phones and session ids: +25073 numbers no journey of the bench dials,
# and ids of the provider's shape and length (`ATUid_` and 27 characters).
FILLER_PHONE = "+25073"
PLACEHOLDER = "+250739999999"  # stands for the phone in a template's JSON


def filler_phone(i: int) -> str:
    return f"{FILLER_PHONE}{i:07d}"


def filler_session(i: int) -> str:
    return f"ATUid_growth{i:021d}"


def rotated(values: tuple, r: int) -> list:
    """`values` starting at index r: each round its own order, so no level
    is always measured first (right after a start, or after a big fill)."""
    k = r % len(values)
    return list(values[k:] + values[:k])


# --- (a) live sessions ------------------------------------------------------------------


@dataclass
class Template:
    """A session a real hop left: its record, snapshot and profile as JSON
    with the phone replaced by PLACEHOLDER, and what its keys weigh."""

    name: str
    record: str
    snapshot: str | None
    profile: dict | None
    bytes: dict[str, int]  # MEMORY USAGE of the real keys, by key kind

    def copy_for(self, phone: str) -> tuple[Record, dict | None]:
        d = json.loads(self.record.replace(PLACEHOLDER, phone))
        record = Record(d["state"], d["text"], d["reply"], d["replies"], d["offer"], d["hops"])
        snapshot = json.loads(self.snapshot.replace(PLACEHOLDER, phone)) if self.snapshot else None
        return record, snapshot


def templates(client: redis.Redis) -> list[Template]:
    """Three sessions made by real hops through Isoko's web process, read back."""
    journeys = [("first_hop", "+250739000001", hops.NAV[:1]),
                ("registering", "+250739000002", hops.NAV[:3]),
                ("known_first_hop", hops.KNOWN_PHONES[-1], [("", hops.HELLO)])]
    out = []
    for name, phone, steps in journeys:
        # The length of the fillers' ids, so that their keys weigh the same.
        session = f"ATUid_template_{name}".ljust(len(filler_session(0)), "0")
        for text, expect in steps:
            body = hops.post("isoko", session, phone, text)
            if not body.startswith(expect):
                raise SystemExit(f"template {name}: {text!r} answered {body[:60]!r}")
        skey, rkey, pkey = f"{sessions.PREFIX}:s:{session}", f"{sessions.PREFIX}:r:{phone}", profiles.key(phone)
        rec = Record.loads(client.get(skey))
        raw_snapshot = client.get(rkey)
        record = json.dumps({"state": rec.state, "text": rec.text, "reply": rec.reply,
                             "replies": rec.replies, "offer": rec.offer, "hops": rec.hops})
        out.append(Template(
            name, record.replace(phone, PLACEHOLDER),
            sessions.unpack(raw_snapshot).replace(phone, PLACEHOLDER) if raw_snapshot else None,
            profiles.loads(client.get(pkey)),
            {kind: client.memory_usage(key) for kind, key in (("s", skey), ("r", rkey), ("p", pkey))
             if client.exists(key)}))
    return out


class _Recorder(CoreCommands):
    """Stands in for a SessionStore's Redis client and for every pipeline it
    opens: redis-py's own command methods build each command's arguments,
    which are kept instead of sent (and `execute()` sends nothing). So
    `finish` writes exactly what it writes after a hop; `redis-cli --pipe`
    then sends them all, since redis-py packs commands in Python at about
    10 us each and 100,000 sessions are 700,000 commands."""

    def __init__(self) -> None:
        self.commands: list[tuple] = []

    def execute_command(self, *args, **options) -> None:
        self.commands.append(args)

    def pipeline(self, transaction: bool = False) -> "_Recorder":
        return self

    def execute(self) -> list:
        return []


def _resp(args: tuple) -> bytes:
    """One command in Redis's protocol (RESP), its arguments encoded as redis-py does."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else (repr(a) if isinstance(a, float) else str(a)).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Filler:
    """The live sessions of (a), as hops leave them, written by replaying commands.

    The commands for `most` sessions (the templates in turn, each with a phone
    and session id of its own) are made once: `SessionStore.finish` on a
    `_Recorder`, plus the per-phone hop counter `SessionStore.begin` keeps.
    `fill(n)` replays the first n sessions' commands through `redis-cli
    --pipe`: every SET carries its EX, so each replay makes n sessions live
    for a whole TTL again. (The counters keep the minute of the first
    making in their key names, and the hop stream entries its time: no
    hop of the bench reads either.)"""

    def __init__(self, db: int, tmpl: list[Template], most: int, ttl: int, resume_ttl: int) -> None:
        recorder = _Recorder()
        store = SessionStore(recorder, ttl, resume_ttl)
        minute = int(time.time() // sessions.RATE_WINDOW)
        chunks = [_resp(("SELECT", db))]
        size = len(chunks[0])
        self.ends: list[int] = []  # byte offset of the end of each session's commands
        for i in range(most):
            t = tmpl[i % len(tmpl)]
            phone = filler_phone(i)
            record, snapshot = t.copy_for(phone)
            qkey = f"{sessions.PREFIX}:q:{phone}:{minute}"
            recorder.incr(qkey)
            recorder.expire(qkey, sessions.RATE_TTL)
            if t.profile:
                profiles.put(recorder, phone, t.profile)
            store.finish(filler_session(i), phone, record, snapshot=snapshot, keep_snapshot=False)
            for command in recorder.commands:
                chunks.append(_resp(command))
                size += len(chunks[-1])
            recorder.commands.clear()
            self.ends.append(size)
        self.stream = b"".join(chunks)
        self.db = db
        # Lookups of a filler session key (main dict and expires dict): see settle().
        self.touch = _resp(("SELECT", db)) + _resp(("EXISTS", f"{sessions.PREFIX}:s:{filler_session(0)}")) * 50_000

    def fill(self, n: int) -> float:
        """Make sessions 0..n-1 live (written afresh), then settle(); fails the
        bench on any error reply. Returns the seconds settle() took."""
        _pipe(self.stream[:self.ends[n - 1]])
        return self.settle()

    def settle(self, timeout: float = 60) -> float:
        """Wait until Redis has finished rehashing the database's tables.

        A keyspace that just doubled (here: past 2^18 = 262,144 keys, about
        98,000 sessions) is rehashed incrementally: one step per lookup plus
        1 ms per 100 ms, about 20 s when idle, and meanwhile every command
        costs 2-4 times as much inside Redis (measured: GET 1 -> 3 us, SET 5
        -> 20 us). Traffic that grows the keyspace meets that once per
        doubling; a bench that writes 100,000 sessions in seconds and
        measures at once would measure only that. So, like traffic, it looks
        keys up (EXISTS, each a rehash step) until DEBUG HTSTATS shows no
        rehashing table."""
        started = time.monotonic()
        while b"rehashing target" in _debug_htstats(self.db):
            if time.monotonic() - started > timeout:
                raise SystemExit(f"Redis was still rehashing {timeout:.0f} s after the fill")
            _pipe(self.touch)
        return time.monotonic() - started


def _pipe(stream: bytes) -> None:
    """Send a RESP stream to the bench's server; fails the bench on any error reply."""
    done = subprocess.run(["redis-cli", "-p", str(redis_server.PORT), "--pipe"], input=stream,
                          capture_output=True, timeout=300)
    if done.returncode or b"errors: 0," not in done.stdout:
        raise SystemExit(f"filling the sessions failed: {done.stdout[-300:]!r} {done.stderr[-300:]!r}")


def _debug_htstats(db: int) -> bytes:
    return subprocess.run(["redis-cli", "-p", str(redis_server.PORT), "DEBUG", "HTSTATS", str(db)],
                          capture_output=True, timeout=30, check=True).stdout


SESSION_KEYS = (f"{sessions.PREFIX}:s:", f"{sessions.PREFIX}:l:", f"{sessions.PREFIX}:r:",
                f"{sessions.PREFIX}:q:", sessions.HOPS_STREAM)


class Keyspace:
    """Isoko's Redis database between levels: what the bench's setup left
    (the registered phones' profiles, the menu's version, ...) is kept; every
    session record, lock, snapshot and hop counter, and the hop stream, go.

    `clear()` empties the database and puts the kept keys back (DUMP and
    RESTORE, their TTLs as they were when kept): much quicker than deleting
    270,000 keys one by one, and it also removes the sessions wrk made."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        kept = [k for k in client.scan_iter(count=1_000) if not k.decode().startswith(SESSION_KEYS)]
        pipe = client.pipeline(transaction=False)
        for key in kept:
            pipe.dump(key)
            pipe.pttl(key)
        values = pipe.execute()
        self.kept = [(key, values[2 * i], values[2 * i + 1]) for i, key in enumerate(kept)]

    def clear(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.flushdb()
        for key, value, pttl in self.kept:
            pipe.restore(key, max(pttl, 0), value, replace=True)
        pipe.execute()


def realism(client: redis.Redis, keyspace: Keyspace, tmpl: list[Template], filler: Filler, n: int) -> dict:
    """Fill n sessions once and compare them with the real ones: DBSIZE, the
    used_memory per session, MEMORY USAGE of filler keys against the template's."""
    keyspace.clear()
    before, keys_before = client.info("memory")["used_memory"], client.dbsize()
    started = time.monotonic()
    settled = filler.fill(n)
    seconds = time.monotonic() - started
    after, keys_after = client.info("memory")["used_memory"], client.dbsize()
    per_template = {}
    for k, t in enumerate(tmpl):
        # A sample of this template's fillers (every len(tmpl)-th session is its).
        sample = range(k, min(n, 300 * len(tmpl)), len(tmpl))
        copies = {}
        for kind in t.bytes:
            key = {"s": lambda i: f"{sessions.PREFIX}:s:{filler_session(i)}",
                   "r": lambda i: f"{sessions.PREFIX}:r:{filler_phone(i)}",
                   "p": lambda i: profiles.key(filler_phone(i))}[kind]
            copies[kind] = statistics.median(client.memory_usage(key(i)) or 0 for i in sample)
        per_template[t.name] = {"real": t.bytes, "filler_median": copies}
    out = {"sessions": n, "fill_seconds": round(seconds, 2), "settle_seconds": round(settled, 2), "keys_added": keys_after - keys_before,
           "used_memory_delta": after - before, "bytes_per_session": (after - before) / n,
           "by_template": per_template}
    print(f"filled {n:,} sessions in {seconds:.1f} s: {out['keys_added']:,} keys, "
          f"{out['bytes_per_session']:.0f} B per session (used_memory); MEMORY USAGE real vs filler: "
          + "; ".join(f"{name} " + ", ".join(f"{k} {v['real'][k]}/{v['filler_median'][k]:.0f}" for k in v["real"])
                      for name, v in per_template.items()), flush=True)
    return out


def redis_cpu(client: redis.Redis) -> float:
    """The Redis server's CPU seconds so far (user + system)."""
    cpu = client.info("cpu")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def redis_costs(client: redis.Redis, cpu_before: float, requests: int) -> dict:
    """What the run cost inside Redis, since CONFIG RESETSTAT: microseconds per
    command (INFO commandstats) and server CPU per request. Both are the
    server's own account, so a keyspace that makes commands slower shows
    here even when the machine's noise hides it in wrk's latencies. (The
    last run's rerun attempts, if any, are included: the ratios hold.)"""
    stats = client.info("commandstats")
    calls = sum(c["calls"] for c in stats.values())
    usec = sum(c["usec"] for c in stats.values())
    return {"redis_usec_per_call": usec / max(calls, 1), "redis_calls": calls,
            "redis_cpu_us_per_hop": (redis_cpu(client) - cpu_before) * 1e6 / max(requests, 1),
            "redis_commands": {name.removeprefix("cmdstat_"): {"calls": c["calls"], "usec_per_call": c["usec_per_call"]}
                               for name, c in stats.items()}}


def sessions_growth(args, tmp: Path, client: redis.Redis, keyspace: Keyspace, filler: Filler,
                    reruns: list) -> list[dict]:
    """The interleaved rounds of (a): each level filled afresh, then each kind."""
    results = []
    for r in range(args.rounds):
        for n in rotated(LEVELS, r):
            started = time.monotonic()
            keyspace.clear()
            settled = filler.fill(n)
            print(f"round {r} {n:>7,} live  cleared and filled in {time.monotonic() - started:.1f} s "
                  f"(of which {settled:.1f} s waiting for Redis's rehash)", flush=True)
            for kind in KINDS:
                keys = client.dbsize()
                cpu = redis_cpu(client)
                client.config_resetstat()
                res = hops.measure(kind, args.seconds, args.connections, r, tmp, 2, reruns)
                res.update(round=r, live_sessions=n, dbsize_before=keys, dbsize_after=client.dbsize(), settle_s=settled,
                           load=os.getloadavg()[0], **redis_costs(client, cpu, res["requests"]))
                results.append(res)
                print(f"round {r} {n:>7,} live  {kind:12s} {res['hops_per_s']:6.0f} hops/s  p50 "
                      f"{res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  keys {keys:,}  "
                      f"Redis {res['redis_usec_per_call']:.2f} us/command {res['redis_cpu_us_per_hop']:.0f} "
                      f"us CPU/hop  split {sorted(res['split'].values())}", flush=True)
    return results


# --- (b) web workers --------------------------------------------------------------------


def workers_growth(args, tmp: Path, reset, reruns: list) -> list[dict]:
    """The interleaved rounds of (b): floor and Isoko restarted with w
    workers, `reset()` (the sessions back to the first level) before each."""
    results = []
    for r in range(args.web_rounds):
        for w in rotated(WEB_WORKERS, r):
            reset()
            procs = [hops.start("floor", w), hops.start("isoko", w)]
            try:
                for kind in KINDS:
                    hops.smoke(kind)
                for kind in KINDS:
                    res = hops.measure(kind, args.seconds, args.connections, r, tmp, w, reruns)
                    res.update(round=r, workers=w, load=os.getloadavg()[0])
                    results.append(res)
                    print(f"round {r} {w} workers  {kind:12s} {res['hops_per_s']:6.0f} hops/s  p50 "
                          f"{res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  "
                          f"split {sorted(res['split'].values())}", flush=True)
            finally:
                for p in procs:
                    hops.stop(p)
    return results


# --- (c) SMS workers --------------------------------------------------------------------


def wait_workers(connection: redis.Redis, n: int, timeout: float = 60) -> None:
    """Until n RQ workers are registered, all idle, and no SMS is due."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = Worker.all(connection=connection)
        if (len(workers) == n and all(w.get_state() == "idle" for w in workers)
                and not connection.zcard(sms_queue.DUE_KEY)
                and not any(sms_queue.queue(connection, name).count for name in sms_queue.ALL_QUEUES)):
            return
        time.sleep(0.1)
    raise SystemExit(f"{n} SMS workers were not idle within {timeout:.0f} s")


def sms_batch(db, connection, sim, n: int, mode: str, count: int, tag: str) -> dict:
    """Queue `count` SMS (rows first, untimed), then time them out to the provider."""
    # Idle first: a worker's first tick sweeps queued rows into the due set,
    # which would send rows added earlier before the clock starts.
    wait_workers(connection, n)
    ids = sms.add_messages(db, count, tag)
    started = time.time()
    sms_queue.enqueue_many(connection, ids)
    if mode == "drain_per_worker":
        for _ in range(n - 1):
            sms_jobs.wake(connection, force=True)
    got = sms.wait_accepted(sim, tag, count, timeout=count / 20 + 60)
    texts = {m.text for m in got}
    last, first = max(m.at for m in got), min(m.at for m in got)
    if first < started:
        raise SystemExit(f"SMS of batch {tag} were sent before it was enqueued")
    return {"workers": n, "mode": mode, "count": count, "accepted": len(texts), "duplicates": len(got) - len(texts),
            "seconds": round(last - started, 3), "sms_per_s": len(texts) / (last - started),
            "sending_sms_per_s": len(texts) / max(last - first, 1e-9), "load": os.getloadavg()[0]}


def sms_growth(args) -> list[dict]:
    """The interleaved rounds of (c), on bench/sms.py's database, Redis and simulator."""
    connection = redis.Redis.from_url(sms.REDIS_URL)
    connection.flushdb()
    results = []
    with tempfile.TemporaryDirectory() as tmp, ProviderSimulator(sms.USERNAME, sms.API_KEY, delay=SMS_DELAY) as sim:
        db = sms.make_database("postgresql", Path(tmp))
        env = {**sms.worker_env(db, sim), "LOG_LEVEL": "WARNING"}
        try:
            for r in range(args.sms_rounds):
                for n in rotated(SMS_WORKERS, r):
                    workers = [sms.start_worker("serve", env) for _ in range(n)]
                    try:
                        for mode in SMS_MODES:
                            res = sms_batch(db, connection, sim, n, mode, args.sms, f"g{r}w{n}{mode}")
                            res["round"] = r
                            results.append(res)
                            print(f"round {r} {n} SMS workers  {mode:16s} {res['accepted']}/{res['count']} "
                                  f"in {res['seconds']:.2f} s: {res['sms_per_s']:6.0f} SMS/s  "
                                  f"duplicates {res['duplicates']}", flush=True)
                    finally:
                        for w in workers:
                            sms.stop(w)
        finally:
            connection.flushdb()
            sms.drop_database("postgresql", db)
    return results


# --- the whole ----------------------------------------------------------------------------


def web_parts(args, tmp: Path, data: dict) -> None:
    """(a) and (b): Isoko bootstrapped and its known phones registered once."""
    hops.bootstrap({"isoko"})
    settings = Settings.from_env(hops.isoko_env())
    ttl, resume_ttl = settings.session_ttl_seconds, settings.resume_ttl_seconds
    client = redis.Redis.from_url(redis_server.url(hops.ISOKO_REDIS_DB))
    reruns = data["reruns"]
    procs = [hops.start("floor"), hops.start("isoko")]
    try:
        reruns.extend({"registration": w} for w in hops.register_known())
        for kind in KINDS:
            hops.smoke(kind)
        keyspace = Keyspace(client)  # before the templates: their sessions are not kept
        tmpl = templates(client)
        started = time.monotonic()
        most = LEVELS[0] if "a" in args.skip else LEVELS[-1]
        filler = Filler(hops.ISOKO_REDIS_DB, tmpl, most, ttl, resume_ttl)
        print(f"commands for {most:,} sessions made in {time.monotonic() - started:.1f} s", flush=True)
        if "a" not in args.skip:
            # Once at the largest level first: the check, and the hop stream at its cap.
            data["realism"] = realism(client, keyspace, tmpl, filler, LEVELS[-1])
            data["sessions"] = sessions_growth(args, tmp, client, keyspace, filler, reruns)
    finally:
        for p in procs:
            hops.stop(p)

    def reset() -> None:
        keyspace.clear()
        filler.fill(LEVELS[0])

    if "b" not in args.skip:
        data["workers"] = workers_growth(args, tmp, reset, reruns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs; 3 rounds of (a), 2 of (b) and (c); 400 SMS a batch")
    parser.add_argument("--rounds", type=int, help="rounds of (a) (and (b) without --quick); default 5, 3 with --quick")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip", default="", help="letters of the parts to skip, e.g. 'bc'")
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "growth.json"))
    args = parser.parse_args()
    args.seconds = 3 if args.quick else 10
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.web_rounds = 2 if args.quick else args.rounds
    args.sms_rounds = 2 if args.quick else 3
    args.sms = 400 if args.quick else 2_000
    data = {"command": " ".join(["bench/growth.py"] + sys.argv[1:]), "reruns": [],
            "settings": {"seconds": args.seconds, "rounds": args.rounds, "web_rounds": args.web_rounds,
                         "connections": args.connections,
                         "sms_rounds": args.sms_rounds, "sms_batch": args.sms, "sms_delay_s": SMS_DELAY},
            "load_before": os.getloadavg()}
    started = time.monotonic()
    with redis_server.running(), tempfile.TemporaryDirectory() as tmp:
        if "a" not in args.skip or "b" not in args.skip:
            web_parts(args, Path(tmp), data)
        if "c" not in args.skip:
            data["sms"] = sms_growth(args)
    data["failed"] = hops.FAILED
    data["load_after"] = os.getloadavg()
    data["minutes"] = round((time.monotonic() - started) / 60, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=1))
    summarize(data)
    if hops.FAILED:
        print("FAILED reply checks:\n  " + "\n  ".join(hops.FAILED))
        sys.exit(1)


def summarize(data: dict) -> None:
    """Medians per level / worker count, and the per-round change against 1,000 sessions."""
    for r in data.get("sessions", []):
        r.setdefault("live_sessions", 0)
    for kind in KINDS:
        rs = [r for r in data.get("sessions", []) if r["kind"] == kind]
        base = {r["round"]: r for r in rs if r["live_sessions"] == LEVELS[0]}
        for n in LEVELS:
            at = [r for r in rs if r["live_sessions"] == n]
            if not at:
                continue
            dp99 = [r["p99_ms"] / base[r["round"]]["p99_ms"] - 1 for r in at]
            dp50 = [r["p50_ms"] / base[r["round"]]["p50_ms"] - 1 for r in at]
            print(f"{kind:12s} {n:>7,} live: hops/s {statistics.median(r['hops_per_s'] for r in at):6.0f}  "
                  f"p50 {statistics.median(r['p50_ms'] for r in at):6.2f} ms  "
                  f"p99 {statistics.median(r['p99_ms'] for r in at):6.2f} ms  vs 1,000 per round: p50 "
                  + " ".join(f"{x:+.0%}" for x in dp50) + "  p99 " + " ".join(f"{x:+.0%}" for x in dp99))
    for kind in KINDS:
        for w in WEB_WORKERS:
            at = [r for r in data.get("workers", []) if r["kind"] == kind and r["workers"] == w]
            if at:
                print(f"{kind:12s} {w} workers: hops/s {statistics.median(r['hops_per_s'] for r in at):6.0f} "
                      f"({min(r['hops_per_s'] for r in at):.0f}-{max(r['hops_per_s'] for r in at):.0f})  "
                      f"p99 {statistics.median(r['p99_ms'] for r in at):6.2f} ms")
    for mode in SMS_MODES:
        for n in SMS_WORKERS:
            at = [r for r in data.get("sms", []) if r["mode"] == mode and r["workers"] == n]
            if at:
                print(f"SMS {mode:16s} {n} workers: {statistics.median(r['sms_per_s'] for r in at):6.0f} SMS/s "
                      f"({min(r['sms_per_s'] for r in at):.0f}-{max(r['sms_per_s'] for r in at):.0f})")
    print(f"load average before {data['load_before'][0]:.2f}, after {data['load_after'][0]:.2f}; "
          f"{data['minutes']} minutes")


if __name__ == "__main__":
    main()
