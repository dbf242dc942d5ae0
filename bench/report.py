"""Write docs/performance.md from the bench's results (var/bench/hops.json, counts.json).

Not a test. `make bench` runs it after `bench/hops.py` and `bench/counts.py`
(the counts' section is left out when counts.json is missing). Contract: every
figure in the page is one the bench printed; the machine's description is
read at the time of writing.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "var" / "bench" / "hops.json"
COUNTS = ROOT / "var" / "bench" / "counts.json"
PAGE = ROOT / "docs" / "performance.md"
sys.path.insert(0, str(ROOT / "bench"))
from hops import KINDS  # noqa: E402


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/meminfo").read_text().splitlines()
               if ln.startswith("MemTotal"))
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} memory, Python {platform.python_version()}"


def table(data: dict) -> list[str]:
    by: dict[str, list[dict]] = {}
    for r in data["results"]:
        by.setdefault(r["kind"], []).append(r)
    floor = {r["round"]: r for r in by["floor"]}
    rows = ["| kind | hops/s median (min–max) | p50 ms median | p99 ms median (min–max) | "
            "× floor hops/s, per round | p99 × floor, median | bad replies | what it drives |",
            "|---|---|---|---|---|---|---|---|"]
    for kind, rs in by.items():
        hs = [r["hops_per_s"] for r in rs]
        p99 = [r["p99_ms"] for r in rs]
        p50 = [r["p50_ms"] for r in rs]
        ratios = "—" if kind == "floor" else " ".join(
            f"{r['hops_per_s'] / floor[r['round']]['hops_per_s']:.2f}" for r in rs)
        p99x = "—" if kind == "floor" else f"{statistics.median(r['p99_ms'] / floor[r['round']]['p99_ms'] for r in rs):.2f}"
        bad = sum(r["bad"] for r in rs)
        rows.append(f"| {kind} | {statistics.median(hs):.0f} ({min(hs):.0f}–{max(hs):.0f}) | "
                    f"{statistics.median(p50):.1f} | {statistics.median(p99):.1f} ({min(p99):.1f}–{max(p99):.1f}) | "
                    f"{ratios} | {p99x} | {bad} | {KINDS[kind]['note']} |")
    return rows


def splits(data: dict) -> list[str]:
    rows = ["| kind | round | connections per worker (ss, mid-run) | reruns for an uneven split |", "|---|---|---|---|"]
    for r in data["results"]:
        rows.append(f"| {r['kind']} | {r['round']} | {sorted(r['split'].values())} | {r.get('uneven_reruns', 0)} |")
    return rows


def counts() -> list[str]:
    """The per-hop-kind counts and the memory per live session, from bench/counts.py."""
    if not COUNTS.exists():
        return ["Not measured in this run (`bench/counts.py` wrote no results)."]
    c = json.loads(COUNTS.read_text())
    rows = [f"`{c['command']}`: in one process through Flask's test client, on the bench's own Redis "
            "server and a PostgreSQL schema of its own; the journeys of the table above, each hop's reply "
            "checked; the first run of each journey (the process's caches filling) is left out.", "",
            "| hop kind | hops counted | Redis round trips, median (max) | SQL statements, median (max) |",
            "|---|---|---|---|"]
    for kind, k in c["kinds"].items():
        rows.append(f"| {kind} | {k['hops']} | {k['redis_median']:g} ({k['redis_max']}) | "
                    f"{k['sql_median']:g} ({k['sql_max']}) |")
    m = c["memory"]
    rows += ["", f"Redis memory: `used_memory` grew by {m['used_memory_delta']:,} bytes over "
             f"{m['sessions']:,} live sessions (one first hop each, distinct phones), "
             f"**{m['bytes_per_session']:.0f} bytes per live session** (target ≤ 1,024). "
             "What a session leaves, by key kind (`MEMORY USAGE`, median of a sample):", "",
             "| key kind | keys | bytes per key |", "|---|---|---|"]
    for kind, k in m["by_kind"].items():
        rows.append(f"| `{kind}` | {k['keys']:,} | {k['bytes_per_key']:.0f} |")
    rows += ["", "`isoko:hops` is the hop stream, drained every 10 s by the periodic task in a real "
             "deployment; nothing drains it here, so its share is an upper bound."]
    return rows


def rss(data: dict) -> list[str]:
    if "rss_kb" not in data:
        return ["Not measured in this run."]
    return [f"VmRSS of each gunicorn worker (`/proc/<pid>/status`) after the rounds: " + "; ".join(
        f"{system}: " + ", ".join(f"{kb / 1024:.0f} MB" for kb in kbs) for system, kbs in data["rss_kb"].items())]


def main() -> None:
    data = json.loads(SOURCE.read_text())
    s = data["settings"]
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`bench/hops.py`, then `bench/report.py`); do not edit by hand.",
        "",
        f"Machine: {machine()}. Other work shares this machine, so figures are noisy: "
        "compare the per-round ratios (floor and Isoko measured minutes apart in the same round) "
        "rather than absolute hops/s.",
        "",
        "## Commands",
        "",
        f"- `{data['command']}`: {s['rounds']} rounds, each running the floor and then every Isoko kind "
        f"for {s['seconds']} s with `wrk -t{s['connections']} -c{s['connections']} -d{s['seconds']}s "
        f"--timeout 5s -s bench/journey.lua`, on gunicorn with `config/gunicorn.conf.py` "
        f"({s['workers']} workers × 4 threads) on 127.0.0.1.",
        "- One connection per wrk thread, so each thread's Lua state follows its connection and a "
        "journey's hops never overlap; every reply is checked against the screen expected at that step.",
        "- Isoko's data: a fresh PostgreSQL schema migrated and seeded by `gateway db upgrade` (the "
        "Procfile's release step), a Redis database of the bench's own, 200 phones registered "
        "through USSD before the rounds.",
        "",
        "## Hops through `POST /at/ussd`",
        "",
        "hops/s counts only replies that passed the check; p50/p99 are wrk's latency percentiles "
        "over all requests of the run. “× floor” divides a kind's hops/s by the floor's in the same round.",
        "",
        *table(data),
        "",
        "## Counts per hop",
        "",
        *counts(),
        "",
        "## Memory per web worker",
        "",
        *rss(data),
        "",
        "## How gunicorn's workers shared the connections",
        "",
        "A run where one worker holds (almost) every keep-alive connection measures one core; the "
        "bench reruns such a run (at most twice) when a worker holds less than a quarter of an even share.",
        "",
        *splits(data),
        "",
        "## Wrong replies",
        "",
    ]
    reruns = [r for r in data["reruns"] if "bad" in r or "registration" in r]
    if not reruns and not data["failed"]:
        lines.append("None: every counted reply was the expected screen.")
    for r in reruns:
        if "registration" in r:
            lines.append(f"- {r['registration']} (that registration started again)")
        else:
            lines.append(f"- {r['kind']} round {r['round']}: {r['bad']} bad of {r['requests']}, "
                         f"first: {r['first_bad']} (rerun)")
    for f in data["failed"]:
        lines.append(f"- FAILED three times: {f}")
    if data["failed"]:
        lines += ["", "Some rounds failed the reply check three times; their figures above count "
                  "only the good replies."]
    lines += ["", "Earlier runs of this bench got “We lost your place” mid-journey, about one per "
              "connection per run: the bench then used databases of the shared Redis server that "
              "other tests flush. It now runs a Redis server of its own (`bench/redis_server.py`)."]
    lines += ["", "## Targets of issue 12", "",
              "- First hop ≥ 0.8× the floor, navigation ≥ 0.9×, p99 ≤ 1.25× the floor's: see the "
              "ratio columns above; any ratio below the target is a miss.",
              "- ≤ 2 Redis round trips and 0 SQL statements per navigation hop and repeat first hop "
              "(`first_known`), ≤ 1 KB of Redis per live session: see “Counts per hop”.",
              "- Not measured yet by this bench: growth curves (live sessions, workers), the peers "
              "(ussd-airflow-engine, ussd-menu-builder), SMS throughput by workers, Sentinel failover.", ""]
    PAGE.write_text("\n".join(lines))
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
