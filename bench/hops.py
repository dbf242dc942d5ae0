"""Isoko's USSD hops against the floor, measured from outside with wrk.

Not a test. `make bench` runs it (`--quick` for short runs). Each system runs
under gunicorn with `config/gunicorn.conf.py` (2 workers x 4 threads) on a
loopback port of its own; Isoko's data is bootstrapped by the Procfile's
release step (`gateway db upgrade`) on a PostgreSQL schema of the bench's own
and a Redis database of its own, then known phones are registered through
USSD itself. Every run is bounded (wrk -d, a subprocess timeout) and every
counted reply is checked by `bench/journey.lua`; a round with a bad reply
fails the bench.

The peers' 3-screen journey (`bench/peer_systems.py`) runs as three more
kinds: Isoko on a menu of that journey (its own schema, Redis database and
port), ussd-airflow-engine and ussd-menu-builder. A peer that is not installed
(`bench/peers/install.sh`) or does not start is left out, with the reason
printed and kept in the results; its figures are never made up.

The systems are interleaved, round after round: floor, then each Isoko kind,
then the 3-screen kinds (`--kinds` runs a subset; the floor always runs, as
every ratio's yardstick). Each run also records the CPU the system's processes
spent and the bench Redis server's commands and CPU, per hop. Results go to a
JSON file (`--out`) that `bench/report.py` turns into docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench import peer_systems, redis_server  # noqa: E402
from gateway.core.db import Database  # noqa: E402
from gateway.ussd import registered  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "journey.lua"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = os.environ.get("BENCH_PG_SCHEMA", "isoko_bench")
PG_SCHEMA_3SCREEN = PG_SCHEMA + "_3screen"  # the 3-screen menu's gateway: its own menus and head
# The bench's own Redis server (bench/redis_server.py): others' tests flush the shared one.
ISOKO_REDIS_DB, FLOOR_REDIS_DB = redis_server.ISOKO_DB, redis_server.FLOOR_DB
# BENCH_PORT_OFFSET moves every system's port, for a second bench on one machine.
PORTS = {system: port + int(os.environ.get("BENCH_PORT_OFFSET", "0"))
         for system, port in {"floor": 18401, "isoko": 18402, **peer_systems.PORTS}.items()}
KNOWN_PHONES = [f"+2507880{i:05d}" for i in range(200)]
FAILED: list[str] = []  # rounds whose replies failed the check three times
RUNS: list[str] = []  # the wrk runs so far, in order
MASTERS: dict[str, int] = {}  # system -> pid of its master process (gunicorn's, Node's primary)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
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
    **{system: {"system": system, "journeys": peer_systems.JOURNEYS, "note": peer_systems.NOTE}
       for system in peer_systems.SYSTEMS},
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


def isoko_env(system: str = "isoko") -> dict[str, str]:
    """The environment of Isoko's web process and release step in the bench:
    `isoko` on the shipped menu, or `isoko_3screen` on the peers' journey."""
    schema, db = (PG_SCHEMA, ISOKO_REDIS_DB) if system == "isoko" else (PG_SCHEMA_3SCREEN,
                                                                          redis_server.ISOKO_3SCREEN_DB)
    pg = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    return {**os.environ, "DATABASE_URL": pg, "REDIS_URL": redis_server.url(db),
            "SECRET_KEY": SECRET, "ALLOW_OPEN_CALLBACKS": "1", "USSD_HOPS_PER_MINUTE": "10000",
            "LOG_LEVEL": "WARNING", "PORT": str(PORTS[system])}


def floor_env() -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_server.url(FLOOR_REDIS_DB), "PORT": str(PORTS["floor"])}


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", PG_ADMIN, "-c", sql], check=True, timeout=60, capture_output=True)


def flush_redis(db: int) -> None:
    subprocess.run(["redis-cli", "-u", redis_server.url(db), "FLUSHDB"], check=True, timeout=30,
                   capture_output=True)


def fill_registered(env: dict[str, str]) -> None:
    """What a deploy's worker does within its first minute (its periodic
    `gateway.ussd.registered.refresh_job`): the registered phones' set made
    whole from SQL, so that a phone with no producer costs no lookup.
    Registrations after it add their own phones."""
    db, client = Database(env["DATABASE_URL"]), redis.Redis.from_url(env["REDIS_URL"])
    try:
        registered.refresh(db, client)
    finally:
        db.dispose()
        client.close()


def bootstrap(systems: set[str]) -> None:
    """For each Isoko system run: a fresh schema and Redis DB, then the release
    step a deploy runs; the 3-screen gateway then gets its menu as a deploy
    would publish one. The floor's and the peers' Redis DBs start empty."""
    for system, schema in (("isoko", PG_SCHEMA), ("isoko_3screen", PG_SCHEMA_3SCREEN)):
        if system not in systems:
            continue
        psql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        flush_redis(ISOKO_REDIS_DB if system == "isoko" else redis_server.ISOKO_3SCREEN_DB)
        subprocess.run([str(BIN / "gateway"), "db", "upgrade"], env=isoko_env(system), cwd=ROOT, check=True,
                       timeout=300, stdout=subprocess.DEVNULL)
        fill_registered(isoko_env(system))
    if "isoko_3screen" in systems:
        subprocess.run([str(BIN / "gateway"), "menus", "publish", "--note", "bench: the peers' 3-screen journey",
                        str(peer_systems.MENU_FILE)], env=isoko_env("isoko_3screen"), cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
    flush_redis(FLOOR_REDIS_DB)
    flush_redis(redis_server.PEERS_DB)


def start(system: str, workers: int = 2) -> subprocess.Popen:
    """The system on its loopback port, `workers` processes (gunicorn with
    Isoko's config, or Node's cluster); waits until it answers. Its stderr goes
    to a temporary file, kept for the reason when it never answers."""
    if system in peer_systems.PEERS:
        redis_url = redis_server.url(redis_server.PEERS_DB)
        argv, env, cwd = peer_systems.launch(system, workers, PORTS[system], redis_url)
    else:
        app = "bench.floor:create_app()" if system == "floor" else "gateway.web:create_app()"
        env = floor_env() if system == "floor" else isoko_env(system)
        env["WEB_CONCURRENCY"] = str(workers)
        argv, cwd = [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "--bind",
                     f"127.0.0.1:{PORTS[system]}", "--access-logfile", "/dev/null", app], ROOT
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            post(system, "bench-ping", "+250790000000", "")
            errors.close()
            MASTERS[system] = proc.pid  # whose CPU the runs of this system count
            return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    errors.seek(0)
    tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
    errors.close()
    raise SystemExit(f"{system} did not answer within 60 s: {' | '.join(tail)}")


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


def process_cpu_s(master: int) -> float:
    """CPU seconds (user + system, every thread) of `master` and its children so
    far, from /proc/<pid>/stat; a child gone meanwhile counts nothing."""
    total = 0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in [str(master), *children]:
        try:
            # Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def redis_counters() -> tuple[int, float, dict[str, int]]:
    """(commands processed, CPU seconds, calls by command) of the bench's Redis server so far."""
    out = subprocess.run(["redis-cli", "-u", redis_server.BASE, "INFO", "all"], capture_output=True,
                         text=True, timeout=10, check=True).stdout
    info = dict(ln.split(":", 1) for ln in out.splitlines() if ":" in ln and not ln.startswith("#"))
    calls = {k[len("cmdstat_"):]: int(re.search(r"calls=(\d+)", v).group(1))
             for k, v in info.items() if k.startswith("cmdstat_")}
    return (int(info["total_commands_processed"]), float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
            calls)


def costs(before: tuple, after: tuple, hops: int) -> dict:
    """Per hop answered (wrk's requests): the system's CPU, the Redis server's
    commands (in all and by command, the bench's own INFO left out) and CPU, wrk's CPU."""
    (cpu0, cmds0, rcpu0, calls0, wrk0), (cpu1, cmds1, rcpu1, calls1, wrk1) = before, after
    per = max(hops, 1)
    by_command = {name: (n - calls0.get(name, 0)) / per for name, n in calls1.items() if name != "info"}
    return {"cpu_ms_per_hop": (cpu1 - cpu0) * 1000 / per, "redis_cmds_per_hop": (cmds1 - cmds0 - 1) / per,
            "redis_cmds_by_name_per_hop": {k: round(v, 3) for k, v in sorted(by_command.items()) if v >= 0.005},
            "redis_cpu_ms_per_hop": (rcpu1 - rcpu0) * 1000 / per, "wrk_cpu_ms_per_hop": (wrk1 - wrk0) * 1000 / per}


def counters(system: str) -> tuple:
    """The counters `costs` compares, read now."""
    children = os.times()  # wrk's CPU: the only child waited for during a run (with ss)
    return (process_cpu_s(MASTERS[system]), *redis_counters(), children.children_user + children.children_system)


def wrk(kind: str, seconds: int, connections: int, run: int, tmp: Path) -> dict:
    """One bounded wrk run of `kind`; the parsed BENCH line plus the connection
    split and the costs per hop (`costs`)."""
    table = tmp / f"{kind}.lua"
    lua_journeys(kind, table)
    system = KINDS[kind]["system"]
    port = PORTS[system]
    cmd = ["wrk", f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(table), str(run), kind]
    before = counters(system)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(min(2.0, seconds / 2))
    split = worker_split(port)
    out, err = proc.communicate(timeout=seconds + 30)
    after = counters(system)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result for {kind}: {out[-400:]} {err[-400:]}")
    result = json.loads(line[6:])
    result.update(kind=kind, run=run, split=split, hops_per_s=result["good"] / result["seconds"])
    result.update(costs(before, after, result["requests"]))
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


def start_all(kinds: list[str], workers: int, peers: dict) -> dict[str, subprocess.Popen]:
    """Start every system the kinds drive. A peer that does not answer is
    stopped, its reason recorded in `peers` and its kind dropped from `kinds`;
    any other system that does not answer stops the bench."""
    systems = list(dict.fromkeys(KINDS[k]["system"] for k in kinds))
    for system in systems:
        # Another bench's server there would answer our readiness check and our wrk.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", PORTS[system])) == 0:
                raise SystemExit(f"port {PORTS[system]} ({system}) is taken: another bench is running? "
                                 "wait, or set BENCH_PORT_OFFSET")
    procs: dict[str, subprocess.Popen] = {}
    for system in systems:
        try:
            procs[system] = start(system, workers)
        except SystemExit as exc:
            if system not in peer_systems.PEERS:
                for p in procs.values():
                    stop(p)
                raise
            peers[system]["missing"] = str(exc)
            kinds.remove(system)
            print(f"peer {system} not measured: {exc}", flush=True)
    return procs


def rounds(args, tmp: Path, peers: dict) -> list[dict]:
    """The interleaved rounds: the floor, then each chosen kind, `args.rounds` times."""
    kinds = args.kinds
    procs = start_all(kinds, args.workers, peers)
    results, reruns = [], []
    try:
        if any(isinstance(j["phone"], list) for k in kinds for j in KINDS[k]["journeys"]):
            reruns.extend({"registration": w} for w in register_known())
        for kind in kinds:
            smoke(kind)
        for r in range(args.rounds):
            for kind in kinds:
                res = measure(kind, args.seconds, args.connections, r, tmp, args.workers, reruns)
                res["round"] = r
                results.append(res)
                print(f"round {r} {kind:17s} {res['hops_per_s']:8.0f} hops/s  p50 {res['p50_ms']:6.2f} ms  "
                      f"p99 {res['p99_ms']:6.2f} ms  split {sorted(res['split'].values())}  "
                      f"cpu {res['cpu_ms_per_hop']:.2f} ms/hop  redis {res['redis_cmds_per_hop']:.2f} cmds/hop",
                      flush=True)
        # After the rounds: the workers' memory once they have served every kind.
        rss = {s: worker_rss(p.pid) for s, p in procs.items()}
        print(f"RSS per web worker (kB): {rss}", flush=True)
    finally:
        for p in procs.values():
            stop(p)
    return [{"results": results, "reruns": reruns, "rss_kb": rss}]  # one element: the caller unpacks it


def chosen_kinds(spec: str | None) -> list[str]:
    """The kinds `--kinds` names, in KINDS' order, the floor always first."""
    if not spec:
        return list(KINDS)
    names = {k.strip() for k in spec.split(",") if k.strip()}
    unknown = names - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown kinds: {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
    return [k for k in KINDS if k in names or k == "floor"]


def peer_status(kinds: list[str], workers: int) -> dict:
    """What the report says of each 3-screen system asked for: versions, how it
    was served, and why it was not measured. Missing peers leave `kinds`."""
    status = {}
    for system in peer_systems.SYSTEMS:
        if system not in kinds:
            continue
        reason = peer_systems.missing(system)
        status[system] = {"missing": reason, "versions": peer_systems.versions(system) if reason is None else {},
                          "served": peer_systems.SERVED[system].format(workers=workers)}
        if reason:
            kinds.remove(system)
            print(f"peer {system} not measured: {reason}", flush=True)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs instead of 10 s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", help="comma-separated kinds to run (default all; the floor always runs): "
                                        + ",".join(KINDS))
    parser.add_argument("--out", default=str(ROOT / "var" / "bench" / "hops.json"))
    args = parser.parse_args()
    args.seconds = 3 if args.quick else 10
    args.kinds = chosen_kinds(args.kinds)
    peers = peer_status(args.kinds, args.workers)
    with redis_server.running(), tempfile.TemporaryDirectory() as tmp:
        bootstrap({KINDS[k]["system"] for k in args.kinds})
        data = rounds(args, Path(tmp), peers)[0]
    data["peers"] = peers
    data["failed"] = FAILED
    data["command"] = " ".join(["bench/hops.py"] + sys.argv[1:])
    data["settings"] = {"seconds": args.seconds, "rounds": args.rounds, "connections": args.connections,
                        "workers": args.workers, "kinds": args.kinds}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data, indent=1))
    summarize(data)
    summarize_peers(data)
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


def summarize_peers(data: dict) -> None:
    """Print the 3-screen journey's per-round ratios, Isoko's against each peer,
    and the costs per hop; a peer not measured is named with its reason."""
    by: dict[str, dict[int, dict]] = {}
    for r in data["results"]:
        by.setdefault(r["kind"], {})[r["round"]] = r
    for system, status in data.get("peers", {}).items():
        if status["missing"]:
            print(f"{system}: not measured ({status['missing']})")
    isoko = by.get("isoko_3screen", {})
    for peer in peer_systems.PEERS:
        if peer in by and isoko:
            ratios = [isoko[n]["hops_per_s"] / by[peer][n]["hops_per_s"] for n in sorted(isoko) if n in by[peer]]
            print(f"isoko_3screen / {peer}: per round " + " ".join(f"{x:.2f}" for x in ratios))
    for system in peer_systems.SYSTEMS:
        if system in by:
            runs = list(by[system].values())
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("cpu_ms_per_hop", "redis_cmds_per_hop", "redis_cpu_ms_per_hop")}
            print(f"{system:17s} per hop, median: {med['cpu_ms_per_hop']:.2f} ms CPU in its processes, "
                  f"{med['redis_cmds_per_hop']:.2f} Redis commands, "
                  f"{med['redis_cpu_ms_per_hop']:.3f} ms Redis CPU")


if __name__ == "__main__":
    main()
