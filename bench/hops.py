"""Isoko's USSD hops against the floor, measured from outside with wrk.

Not a test. `make bench` runs it (`--quick` for short runs). Each system runs
under gunicorn with `config/gunicorn.conf.py` (2 workers x 4 threads) on a
loopback port of its own; Isoko's data is bootstrapped by the Procfile's
release step (`gateway db upgrade`) on a PostgreSQL schema of the bench's own
and a Redis database of its own, then known phones are registered through
USSD itself. Every run is bounded (wrk -d, a subprocess timeout) and every
counted reply is checked by `bench/journey.lua`; a round with a bad reply
fails the bench.

The systems are interleaved, round after round: floor, then each Isoko kind.
Results go to a JSON file (`--out`) that `bench/report.py` turns into
docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import redis_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "journey.lua"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = os.environ.get("BENCH_PG_SCHEMA", "isoko_bench")
# The bench's own Redis server (bench/redis_server.py): others' tests flush the shared one.
ISOKO_REDIS_DB, FLOOR_REDIS_DB = redis_server.ISOKO_DB, redis_server.FLOOR_DB
PORTS = {"floor": 18401, "isoko": 18402}
KNOWN_PHONES = [f"+2507880{i:05d}" for i in range(200)]
FAILED: list[str] = []  # rounds whose replies failed the check three times
RUNS: list[str] = []  # the wrk runs so far, in order
SECRET = "bench-only-secret-key-not-for-production-0123456789"

MENU = "CON Isoko\nHitamo"
HELLO = "CON Isoko: Hello"
NAV = [("", MENU), ("2", "CON Welcome to Isoko"), ("2*Jean", "CON Choose your district"),
       ("2*Jean*98", "CON 1. Huye"), ("2*Jean*98*0", "CON Choose your district"),
       ("2*Jean*98*0*98", "CON 1. Huye"), ("2*Jean*98*0*98*0", "CON Choose your district"),
       ("2*Jean*98*0*98*0*98", "CON 1. Huye"), ("2*Jean*98*0*98*0*98*0", "CON Choose your district")]
SELL = [("", HELLO), ("1", "CON What are you selling?"), ("1*1", "CON Coffee cherry: quantity"),
        ("1*1*50", "CON Price per kg"), ("1*1*50*700", "CON Coffee cherry"),
        ("1*1*50*700*1", "END Listed! Code:")]
REGISTER = [("", MENU), ("2", "CON Welcome to Isoko"), ("2*Jean", "CON Choose your district"),
            ("2*Jean*3", "CON Isoko keeps your number"), ("2*Jean*3*1", HELLO)]
DATA = [("", HELLO), ("1", "CON What are you selling?"), ("1*0", HELLO), ("1*0*1", "CON What are you selling?"),
        ("1*0*1*0", HELLO), ("1*0*1*0*1", "CON What are you selling?")]

# What each kind drives, and what share of its hops is the kind named.
KINDS = {
    "floor": {"system": "floor", "journeys": [{"phone": "%u", "steps": [("", "CON Floor")]}],
              "note": "one GET and one SET with expiry per POST"},
    "first_unknown": {"system": "isoko", "journeys": [{"phone": "%u", "steps": [("", MENU)]}],
                      "note": "every hop a first hop of a never-seen phone"},
    "first_known": {"system": "isoko", "journeys": [{"phone": KNOWN_PHONES, "steps": [("", HELLO)]}],
                    "note": "every hop a first hop of a registered phone"},
    "navigation": {"system": "isoko", "journeys": [{"phone": "%u", "steps": NAV}],
                   "note": "8 of 9 hops navigation (language, name, district pages); 1 first hop"},
    "data": {"system": "isoko", "journeys": [{"phone": KNOWN_PHONES, "steps": DATA}],
             "note": "3 of 6 hops a product list page; 2 main menu; 1 first hop (known phone)"},
    "write": {"system": "isoko", "journeys": [{"phone": KNOWN_PHONES, "steps": SELL}],
              "note": "whole sell journeys: 1 of 6 hops confirms a listing (SQL writes, an SMS queued)"},
    "mix": {"system": "isoko", "journeys": [{"phone": KNOWN_PHONES, "steps": SELL},
                                            {"phone": KNOWN_PHONES, "steps": DATA},
                                            {"phone": "%r", "steps": REGISTER},
                                            {"phone": "%u", "steps": NAV[:5]}],
            "note": "whole journeys in turn: sell, browse, register, abandoned registration"},
}


def lua_journeys(kind: str, path: Path) -> None:
    """Write the kind's journeys as the Lua table journey.lua loads."""
    def lua_str(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    out = []
    for j in KINDS[kind]["journeys"]:
        phone = j["phone"]
        phone_lua = "{" + ",".join(map(lua_str, phone)) + "}" if isinstance(phone, list) else lua_str(phone)
        steps = ",".join("{" + lua_str(t) + "," + lua_str(e) + "}" for t, e in j["steps"])
        out.append("{phone=" + phone_lua + ",steps={" + steps + "}}")
    path.write_text("journeys = {" + ",\n".join(out) + "}\n")


def isoko_env() -> dict[str, str]:
    """The environment of Isoko's web process and release step in the bench."""
    pg = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{PG_SCHEMA}"
    return {**os.environ, "DATABASE_URL": pg, "REDIS_URL": redis_server.url(ISOKO_REDIS_DB),
            "SECRET_KEY": SECRET, "ALLOW_OPEN_CALLBACKS": "1", "USSD_HOPS_PER_MINUTE": "10000",
            "LOG_LEVEL": "WARNING", "PORT": str(PORTS["isoko"])}


def floor_env() -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_server.url(FLOOR_REDIS_DB), "PORT": str(PORTS["floor"])}


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", PG_ADMIN, "-c", sql], check=True, timeout=60, capture_output=True)


def flush_redis(db: int) -> None:
    subprocess.run(["redis-cli", "-u", redis_server.url(db), "FLUSHDB"], check=True, timeout=30,
                   capture_output=True)


def bootstrap() -> None:
    """A fresh schema and Redis DB, then the release step a deploy runs."""
    psql(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE; CREATE SCHEMA "{PG_SCHEMA}"')
    flush_redis(ISOKO_REDIS_DB)
    flush_redis(FLOOR_REDIS_DB)
    subprocess.run([str(BIN / "gateway"), "db", "upgrade"], env=isoko_env(), cwd=ROOT, check=True,
                   timeout=300, stdout=subprocess.DEVNULL)


def start(system: str, workers: int = 2) -> subprocess.Popen:
    """gunicorn with Isoko's config on the system's loopback port; waits until it answers."""
    app = "gateway.web:create_app()" if system == "isoko" else "bench.floor:create_app()"
    env = isoko_env() if system == "isoko" else floor_env()
    env["WEB_CONCURRENCY"] = str(workers)
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py",
                             "--bind", f"127.0.0.1:{PORTS[system]}", "--access-logfile", "/dev/null", app],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            post(system, "bench-ping", "+250790000000", "")
            return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"{system} did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    """Stop one gunicorn we started (its process group), waiting at most 20 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def post(system: str, session: str, phone: str, text: str) -> str:
    form = urllib.parse.urlencode({"sessionId": session, "phoneNumber": phone, "networkCode": "63510",
                                   "serviceCode": "*384*7#", "text": text}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[system]}/at/ussd", form, timeout=10) as r:
        return r.read().decode()


def register_known() -> list[str]:
    """Register KNOWN_PHONES through USSD, checking each screen of the journey.

    A journey that gets a wrong screen starts again on a new session, at most
    three times; the wrong screens are returned for the report, not hidden."""
    wrong = []
    for i, phone in enumerate(KNOWN_PHONES):
        for attempt in range(3):
            body = ""
            for text, expect in REGISTER:
                body = post("isoko", f"bench-reg-{i}-{attempt}", phone, text)
                if not body.startswith(expect):
                    wrong.append(f"registration {i}: {text!r} answered {body[:60]!r}")
                    break
            else:
                break
        else:
            raise SystemExit(f"registration {i} failed three times: {wrong[-3:]}")
    return wrong


def smoke(kind: str) -> None:
    """One journey of each of the kind's shapes, checked screen by screen, before wrk."""
    k = list(KINDS).index(kind)
    for n, j in enumerate(KINDS[kind]["journeys"]):
        # Runs number themselves below 99: the smoke's fresh phones are its own.
        fresh = f"+25079{99:02d}{k:02d}{n:03d}"
        phone = j["phone"][0] if isinstance(j["phone"], list) else fresh
        for text, expect in j["steps"]:
            body = post(KINDS[kind]["system"], f"bench-smoke-{kind}-{n}", phone, text)
            if not body.startswith(expect):
                raise SystemExit(f"{kind}: {text!r} answered {body[:80]!r}, expected {expect!r}")


def worker_rss(master: int) -> list[int]:
    """VmRSS in kB of each gunicorn worker (the master's children), from /proc."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    rss = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        rss.append(int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)))
    return rss


def worker_split(port: int) -> dict[str, int]:
    """Established connections to `port` per server pid, from `ss -tnp`."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, timeout=10).stdout
    split: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        split[pid] = split.get(pid, 0) + 1
    return split


def wrk(kind: str, seconds: int, connections: int, run: int, tmp: Path) -> dict:
    """One bounded wrk run of `kind`; the parsed BENCH line plus the connection split."""
    table = tmp / f"{kind}.lua"
    lua_journeys(kind, table)
    port = PORTS[KINDS[kind]["system"]]
    cmd = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(table), str(run), kind]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(min(2.0, seconds / 2))
    split = worker_split(port)
    out, err = proc.communicate(timeout=seconds + 30)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result for {kind}: {out[-400:]} {err[-400:]}")
    result = json.loads(line[6:])
    result.update(kind=kind, run=run, split=split, hops_per_s=result["good"] / result["seconds"])
    return result


def even(split: dict[str, int], workers: int) -> bool:
    """True when every worker holds at least a quarter of an even share of the connections."""
    if len(split) < workers:
        return False
    return min(split.values()) >= sum(split.values()) / workers / 4


def measure(kind: str, seconds: int, connections: int, run: int, tmp: Path, workers: int,
            reruns: list) -> dict:
    """wrk once; again (at most twice) when the workers split the connections
    unevenly or a reply was wrong (both recorded in `reruns`); a third bad run fails."""
    for attempt in range(3):
        # Every wrk run its own number (mod 100): fresh phones never repeat across runs.
        RUNS.append(kind)
        result = wrk(kind, seconds, connections, len(RUNS) % 99, tmp)
        if (result["bad"] or result["errors"]) and attempt < 2:
            reruns.append({"kind": kind, "round": run, "bad": result["bad"], "errors": result["errors"],
                           "first_bad": result["first_bad"], "requests": result["requests"]})
            continue
        if result["bad"] or result["errors"]:
            # Three runs in a row with wrong replies: the round fails, plainly
            # marked in the results and the report, and the bench exits non-zero.
            result["failed_check"] = True
            result["uneven_reruns"] = attempt
            FAILED.append(f"{kind} round {run}: {result['bad']} bad of {result['requests']}; "
                          f"first: {result['first_bad']}")
            return result
        if even(result["split"], workers) or attempt == 2:
            result["uneven_reruns"] = attempt
            return result
        reruns.append({"kind": kind, "round": run, "split": result["split"]})
    raise AssertionError("unreachable")


def rounds(args, tmp: Path) -> list[dict]:
    """The interleaved rounds: the floor, then each Isoko kind, `args.rounds` times."""
    procs = {s: start(s, args.workers) for s in ("floor", "isoko")}
    results, reruns = [], []
    try:
        reruns.extend({"registration": w} for w in register_known())
        for kind in KINDS:
            smoke(kind)
        for r in range(args.rounds):
            for kind in KINDS:
                res = measure(kind, args.seconds, args.connections, r, tmp, args.workers, reruns)
                res["round"] = r
                results.append(res)
                print(f"round {r} {kind:14s} {res['hops_per_s']:8.0f} hops/s  p50 {res['p50_ms']:6.2f} ms  "
                      f"p99 {res['p99_ms']:6.2f} ms  split {sorted(res['split'].values())}", flush=True)
        # After the rounds: the workers' memory once they have served every kind.
        rss = {s: worker_rss(p.pid) for s, p in procs.items()}
        print(f"RSS per web worker (kB): {rss}", flush=True)
    finally:
        for p in procs.values():
            stop(p)
    return [{"results": results, "reruns": reruns, "rss_kb": rss}]  # one element: the caller unpacks it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs instead of 10 s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "hops.json"))
    args = parser.parse_args()
    args.seconds = 3 if args.quick else 10
    with redis_server.running(), tempfile.TemporaryDirectory() as tmp:
        bootstrap()
        data = rounds(args, Path(tmp))[0]
    data["failed"] = FAILED
    data["command"] = " ".join(["bench/hops.py"] + sys.argv[1:])
    data["settings"] = {"seconds": args.seconds, "rounds": args.rounds, "connections": args.connections,
                        "workers": args.workers}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=1))
    summarize(data)
    if FAILED:
        print("FAILED reply checks:\n  " + "\n  ".join(FAILED))
        sys.exit(1)


def summarize(data: dict) -> None:
    """Print medians with min-max, and the per-round ratios against the floor."""
    by = {}
    for r in data["results"]:
        by.setdefault(r["kind"], []).append(r)
    floor = {r["round"]: r for r in by["floor"]}
    for kind, rs in by.items():
        hs = [r["hops_per_s"] for r in rs]
        p99 = [r["p99_ms"] for r in rs]
        line = (f"{kind:14s} hops/s median {statistics.median(hs):7.0f} ({min(hs):.0f}-{max(hs):.0f})  "
                f"p99 median {statistics.median(p99):6.2f} ms")
        if kind != "floor":
            ratios = [r["hops_per_s"] / floor[r["round"]]["hops_per_s"] for r in rs]
            line += "  x floor per round " + " ".join(f"{x:.2f}" for x in ratios)
        print(line)


if __name__ == "__main__":
    main()
