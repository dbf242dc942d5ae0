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

import matplotlib

matplotlib.use("Agg")  # files only: no display on a bench machine
from matplotlib import pyplot  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "var" / "bench" / "hops.json"
COUNTS = ROOT / "var" / "bench" / "counts.json"
PAGE = ROOT / "docs" / "performance.md"
GROWTH = ROOT / "var" / "bench" / "growth.json"
PLOTS = ROOT / "docs" / "performance"  # the growth curves' PNGs, linked from the page
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


# Issue 12's throughput targets: (kind, least hops/s × floor, most p99 × floor).
TARGETS = [("first_known", 0.8, 1.25), ("first_unknown", 0.8, 1.25), ("navigation", 0.9, 1.25)]


def targets(data: dict) -> list[str]:
    """Each throughput target against this run's per-round ratios (medians), then
    where the other targets are reported, then what the gap is made of."""
    by: dict[str, list[dict]] = {}
    for r in data["results"]:
        by.setdefault(r["kind"], []).append(r)
    floor = {r["round"]: r for r in by.get("floor", [])}
    lines = ["| kind | hops/s × floor, median of the rounds | target | p99 × floor, median | target | verdict |",
             "|---|---|---|---|---|---|"]
    for kind, least, most in TARGETS:
        rs = [r for r in by.get(kind, []) if r["round"] in floor]
        if not rs:
            lines.append(f"| {kind} | not measured | ≥ {least} | | ≤ {most} | — |")
            continue
        ratio = statistics.median(r["hops_per_s"] / floor[r["round"]]["hops_per_s"] for r in rs)
        p99 = statistics.median(r["p99_ms"] / floor[r["round"]]["p99_ms"] for r in rs)
        verdict = "met" if ratio >= least and p99 <= most else "missed"
        lines.append(f"| {kind} | {ratio:.2f} | ≥ {least} | {p99:.2f} | ≤ {most} | {verdict} |")
    return lines + [
        "",
        "- ≤ 2 Redis round trips and 0 SQL statements per navigation hop and repeat first hop "
        "(`first_known`), ≤ 1 KB of Redis per live session: see “Counts per hop”.",
        "- ≥ 5× ussd-airflow-engine, a p99 under its p50, the ratio against ussd-menu-builder: see “Peers”.",
        "- Latency flat within 10 % from 1,000 to 100,000 live sessions, workers 1 → 4, SMS workers: "
        "see “Growth”.",
        "- Sentinel failover (seconds without service, polite ENDs meanwhile) and two processes "
        "alternating every hop: `tests/faults/test_sentinel_failover.py` and "
        "`tests/web/test_alternating_hops.py`, figures in docs/reliability.md.",
        "",
        "### What a hop costs beyond the floor",
        "",
        "Measured in one process (`bench/profile_hop.py` for the time, Python's profiler for the "
        "calls), a known caller's first hop costs about as many Python calls as the floor's hop: "
        "`POST /at/ussd` is answered by a WSGI layer in front of Flask (`gateway/web/ussd_fast.py`, "
        "same guards and parser as the Flask view) where the floor goes through Flask's whole "
        "request cycle, and that saving pays for Isoko's own work: the menu engine (state, "
        "screen, pages: pages of recent screens are cached), the session record (JSON, "
        "compressed past 200 bytes), the hop stream entry and the metrics. Each hop's Redis work is "
        "two Lua scripts (`gateway/core/redis_scripts.py`) where the floor sends a GET and a SET: "
        "the same two round trips, but about thirteen commands run inside Redis, so Redis's own CPU "
        "per hop is higher (“redis cmds/hop” above counts them). A first hop of a phone with no "
        "producer reads no SQL either: the begin script also asks the set of registered phones "
        "(`gateway/ussd/registered.py`, filled from SQL by the worker's periodic task, here by the "
        "bench once after the release step, as a deploy's worker does within its first minute), "
        "which is believed only once a fill has made it whole. Hops that need SQL (a caller whose "
        "profile is not cached, a product list's catalogue version, a listing confirmed) run their "
        "SQL on a pool thread bounded by the hop's budget (`gateway/ussd/budget.py`); the others "
        "stay on gunicorn's thread. Handing a hop to that thread cost more than its SQL: with the "
        "same command (`bench/hops.py --quick --rounds 3 --kinds "
        "first_unknown,first_known,navigation,isoko_3screen`) on the commit before the set and the "
        "one after, back to back, a never-seen phone's first hop went from 1.15–1.18 to 0.90–0.91 ms "
        "of CPU (a known one's: 0.85–0.93), first_unknown from 0.59–0.69× the floor to 0.80–0.86×, "
        "and the navigation kind (one such hop in nine; 1.06–1.13 ms of CPU per hop before, 0.88–0.96 after, more than that one hop explains) from 0.63–0.75× to 0.80–0.93×. What is "
        "left on a never-seen phone's first hop is its number parsed for the first time "
        "(`phonenumbers`, about 20 µs in process, cached per process after) and, in Redis, its new "
        "hop counter (INCR and EXPIRE) and the set's two SISMEMBER. On a navigation hop it is the "
        "two scripts' work in Redis (about 7 µs of Lua per script call on top of its commands, "
        "`INFO commandstats`), the engine, the record's JSON and its compression, and the resume "
        "snapshot a registration keeps; on list and write hops, the SQL they need.",
        "",
        "Two changes of 0.5.3, each measured on the commit before it and the one after, in turn. "
        "The session record and snapshot are encoded with orjson instead of the standard "
        "library's `json` (about 12 and 8 µs per record to encode and decode, against 1 and 2): "
        "with `bench/hops.py --quick --rounds 5 --kinds "
        "first_unknown,first_known,navigation,isoko_3screen` (three times each, 13 rounds in all), "
        "a navigation hop's CPU went from 1.27× the floor's to 1.17× (medians) and the kind from "
        "0.75× the floor's hops/s to 0.82×; first hops, which store no snapshot, moved within the "
        "noise. The sell journey's price screen and *Prices* read their figures over every offer "
        "of the product, so the write kind slowed as its own listings piled up: with `bench/hops.py "
        "--rounds 4 --kinds write` it went 0.16 0.12 0.08 0.09× the floor, round after round, "
        "before the figures were kept in Redis for 30 s (`gateway/ussd/price_cache.py`), and "
        "0.19 0.29 0.22 0.21× after.",
        "",
        "0.5.4 packs session records and snapshots with zstd primed with the menu's strings "
        "instead of zlib (`sessions.PACK_V2`): in process, about 5 µs a record and 4 a snapshot "
        "instead of 12–17 and 9–12, some 20 µs of a navigation hop, and 942 bytes of Redis per "
        "session left mid-journey instead of 1,022 (`tests/perf/test_session_memory.py`). From "
        "outside it is within this machine's noise: three alternate runs each of "
        "`bench/hops.py --quick --rounds 5 --kinds "
        "first_unknown,first_known,navigation,isoko_3screen` gave navigation 0.81, 0.84 and 0.75× "
        "the floor before (medians of the per-round ratios) and 0.83, 0.87 and 0.91× after, "
        "with single rounds from 0.63 to 1.13× on both sides.",
    ]


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


PEER_NAMES = {"isoko_3screen": "Isoko", "peer_airflow": "ussd-airflow-engine",
              "peer_menu_builder": "ussd-menu-builder"}
AIRFLOW_TARGET = 5.0  # issue 12: Isoko >= 5x ussd-airflow-engine's throughput


def _per_round(data: dict, kind: str) -> dict[int, dict]:
    return {r["round"]: r for r in data["results"] if r["kind"] == kind}


def _ratios(isoko: dict[int, dict], other: dict[int, dict], key, inverse=False) -> list[float]:
    """Isoko's figure over the other's, round by round (rounds both ran)."""
    return [(other[n][key] / isoko[n][key]) if inverse else (isoko[n][key] / other[n][key])
            for n in sorted(isoko) if n in other]


def _fmt_ratios(ratios: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in ratios) + f" (median {statistics.median(ratios):.2f})"


def peers_section(data: dict) -> list[str]:
    """The peers' section: the 3-screen journey on Isoko and both peers, the
    per-round ratios, issue 12's two targets against ussd-airflow-engine and
    what the costs per hop say the gap to ussd-menu-builder is made of."""
    peers = data.get("peers")
    if not peers:
        return ["Not measured in this run (the 3-screen kinds were not run)."]
    runs = {system: _per_round(data, system) for system in peers}
    rows = ["| system | hops/s median (min–max) | p50 ms median | p99 ms median (min–max) | "
            "CPU ms per hop, its processes | cores busy | Redis commands per hop | Redis CPU ms per hop | "
            "wrk CPU ms per hop | bad replies |", "|---|---|---|---|---|---|---|---|---|---|"]
    for system, status in peers.items():
        rs = list(runs[system].values())
        if status["missing"] or not rs:
            rows.append(f"| {PEER_NAMES[system]} | not measured: {status['missing'] or 'no run'} "
                        "| | | | | | | | |")
            continue
        med = {k: statistics.median(r[k] for r in rs) for k in
               ("hops_per_s", "p50_ms", "p99_ms", "cpu_ms_per_hop", "redis_cmds_per_hop",
                "redis_cpu_ms_per_hop", "wrk_cpu_ms_per_hop")}
        hs, p99 = [r["hops_per_s"] for r in rs], [r["p99_ms"] for r in rs]
        busy = statistics.median(r["hops_per_s"] * r["cpu_ms_per_hop"] / 1000 for r in rs)
        rows.append(f"| {PEER_NAMES[system]} | {med['hops_per_s']:.0f} ({min(hs):.0f}–{max(hs):.0f}) | "
                    f"{med['p50_ms']:.1f} | {med['p99_ms']:.1f} ({min(p99):.1f}–{max(p99):.1f}) | "
                    f"{med['cpu_ms_per_hop']:.2f} | {busy:.2f} | {med['redis_cmds_per_hop']:.2f} | "
                    f"{med['redis_cpu_ms_per_hop']:.3f} | {med['wrk_cpu_ms_per_hop']:.3f} | "
                    f"{sum(r['bad'] for r in rs)} |")
    lines = ["The same journey three times (menu → quantity checked by the regex `^[0-9]{1,4}$` → end, "
             "the same texts; journeys in turn through option 1 with 50 kg and option 2 with 1200 kg, a fresh "
             "phone each), every reply checked against the whole expected screen's start by "
             "`bench/journey.lua`, interleaved with the kinds above in every round. Each system runs "
             f"{data['settings']['workers']} processes on the machine's {os.cpu_count()} CPUs. CPU per hop "
             "is the user + system time of the system's "
             "processes (master and workers, every thread; `/proc/<pid>/stat`) over the run, divided by the "
             "requests answered; “cores busy” is that times hops/s. Redis figures are the bench's own "
             "server's `INFO` counters over the run (only one system runs at a time); wrk runs on the "
             "same cores.", "", *rows, ""]
    lines += _peer_verdicts(runs, peers, _per_round(data, "floor"))
    lines += ["", "How each was served:", ""]
    for system, status in peers.items():
        versions = ", ".join(f"{k} {v}" for k, v in status["versions"].items()) or "—"
        lines.append(f"- {PEER_NAMES[system]} (`{system}`): {status['served']}; versions: {versions}.")
    lines += ["", *_menu_builder_gap(runs, _per_round(data, "floor"))]
    return lines


def _peer_verdicts(runs: dict, peers: dict, floor: dict[int, dict]) -> list[str]:
    """Per-round ratios and issue 12's targets, each said to hold or not,
    and what the floor (`floor`, by round) reaches against airflow."""
    isoko = runs.get("isoko_3screen", {})
    if not isoko:
        return ["No ratios: Isoko's 3-screen kind did not run."]
    lines = []
    airflow, builder = runs.get("peer_airflow", {}), runs.get("peer_menu_builder", {})
    if airflow:
        speed = _ratios(isoko, airflow, "hops_per_s")
        met = sum(x >= AIRFLOW_TARGET for x in speed)
        lines.append(f"- Isoko / ussd-airflow-engine hops/s, per round: {_fmt_ratios(speed)}. "
                     f"**≥ {AIRFLOW_TARGET:g}× airflow: "
                     f"{'holds' if statistics.median(speed) >= AIRFLOW_TARGET else 'missed'}** "
                     f"({met} of {len(speed)} rounds at or above it).")
        tails = [(isoko[n]["p99_ms"], airflow[n]["p50_ms"]) for n in sorted(isoko) if n in airflow]
        below = sum(p99 < p50 for p99, p50 in tails)
        lines.append("- Isoko's p99 against ussd-airflow-engine's p50, per round (ms): "
                     + ", ".join(f"{p99:.1f} vs {p50:.1f}" for p99, p50 in tails)
                     + f". **Isoko p99 < airflow p50: {'holds' if below == len(tails) else 'missed'}** "
                     f"({below} of {len(tails)} rounds).")
        if floor:
            bound = _ratios(floor, airflow, "hops_per_s")
            share = _ratios(isoko, floor, "hops_per_s")
            lines.append(
                f"- The floor / ussd-airflow-engine hops/s, per round: {_fmt_ratios(bound)}: what a hop "
                "with no USSD logic at all (one GET, one SET) reaches against airflow on this machine, "
                f"so {AIRFLOW_TARGET:g}× airflow asks Isoko for {AIRFLOW_TARGET / statistics.median(bound):.2f}× "
                f"the floor's throughput; its 3-screen hop ran at {_fmt_ratios(share)} of the floor's "
                "in the same rounds. What Isoko does beyond the floor is in “What a hop costs beyond the "
                "floor” below.")
    else:
        lines.append(f"- ussd-airflow-engine not measured ({peers.get('peer_airflow', {}).get('missing')}): "
                     "its targets are not judged.")
    if builder:
        speed = _ratios(isoko, builder, "hops_per_s")
        lines.append(f"- Isoko / ussd-menu-builder hops/s, per round: {_fmt_ratios(speed)}.")
    else:
        lines.append(f"- ussd-menu-builder not measured ({peers.get('peer_menu_builder', {}).get('missing')}).")
    return lines


def _commands(rs: list[dict]) -> str:
    """Redis commands per hop by command, medians over the runs (runs recorded
    before the bench counted them by command give none)."""
    names = sorted({n for r in rs for n in r.get("redis_cmds_by_name_per_hop", {})})
    med = {n: statistics.median(r.get("redis_cmds_by_name_per_hop", {}).get(n, 0) for r in rs) for n in names}
    # Below 0.05 a hop: connection set-up and the idle systems' own traffic, not the hops'.
    return ", ".join(f"{n.upper()} {v:.2f}" for n, v in sorted(med.items(), key=lambda kv: -kv[1])
                     if v >= 0.05) or "—"


def _menu_builder_gap(runs: dict, floor: dict[int, dict]) -> list[str]:
    """What the gap to ussd-menu-builder is made of, from the measured costs
    (the floor's CPU per hop, same rounds, as the least a Python hop costs)."""
    isoko, builder = runs.get("isoko_3screen", {}), runs.get("peer_menu_builder", {})
    if not isoko or not builder:
        return []
    cpu = _ratios(isoko, builder, "cpu_ms_per_hop")
    speed = _ratios(isoko, builder, "hops_per_s")

    def median(rs: dict, key) -> float:
        return statistics.median(key(r) if callable(key) else r[key] for r in rs.values())

    busy = {name: median(rs, lambda r: r["hops_per_s"] * r["cpu_ms_per_hop"] / 1000)
            for name, rs in (("isoko", isoko), ("builder", builder))}
    lines = ["**What the gap to ussd-menu-builder is made of** (measured in the same rounds):", "",
             f"- CPU per hop in the system's own processes: Isoko {median(isoko, 'cpu_ms_per_hop'):.2f} ms, "
             f"ussd-menu-builder {median(builder, 'cpu_ms_per_hop'):.2f} ms; Isoko / menu-builder per round "
             f"{_fmt_ratios(cpu)}. At equal CPU Isoko would answer 1/{statistics.median(cpu):.2f} = "
             f"{1 / statistics.median(cpu):.2f}× menu-builder's hops; the measured hops/s ratio is "
             f"{statistics.median(speed):.2f}×.",
             f"- Cores busy (of {os.cpu_count()}): Isoko {busy['isoko']:.2f}, "
             f"menu-builder {busy['builder']:.2f}. A system "
             "below what the other gets was held back by something other than its own CPU (on a shared "
             "machine, the scheduler; for Node, an event loop waiting), so the CPU per hop is the "
             "steadier comparison.",
             f"- Redis per hop: Isoko {median(isoko, 'redis_cmds_per_hop'):.1f} commands "
             f"({_commands(list(isoko.values()))}) in 2 round trips, one Lua script each (bench/counts.py), "
             f"{median(isoko, 'redis_cpu_ms_per_hop'):.3f} ms of the server's CPU; menu-builder "
             f"{median(builder, 'redis_cmds_per_hop'):.1f} ({_commands(list(builder.values()))}), "
             f"{median(builder, 'redis_cpu_ms_per_hop'):.3f} ms. By design (read in the sources): "
             "ussd-menu-builder keeps no state between hops; it finds the screen again from the provider's "
             "whole `text` on every hop (`resolveRoute` in `lib/ussd-menu.js`) and touches Redis only where "
             "the journey's own code does (here one hash write with expiry on the last screen, then the "
             "delete `end()` issues). Isoko takes the session's lock, reads the session, the resume "
             "snapshot, the menu's head and the producer profile and counts the phone's hops in one round "
             "trip, then stores the session with the replies kept for retransmissions, notes the hop in "
             "the hop stream and releases the lock in the other (`gateway/ussd/sessions.py`).",
             "- The runtime: Python under gunicorn's threads against V8-compiled JavaScript on Node's event "
             "loop. The floor (one GET and one SET in Flask under the same gunicorn) spent "
             f"{median(floor, 'cpu_ms_per_hop'):.2f} ms of CPU per hop in the same rounds: the least a "
             "Python hop costs here before any USSD logic, so of Isoko's CPU per hop, that much is "
             "Flask, gunicorn and redis-py, the rest its own work."] if floor else []
    return lines


def _median_range(values: list[float], fmt: str = ".0f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def _by(results: list[dict], *fields: str) -> dict[tuple, list[dict]]:
    """`results` grouped by the values of `fields`, in the order first met."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault(tuple(r[f] for f in fields), []).append(r)
    return groups


def _change(rs: list[dict], base: dict[int, dict], field: str) -> list[float]:
    """Per round: rs' `field` against the same round's base run, as a fraction (+0.05 = 5 % more)."""
    return [r[field] / base[r["round"]][field] - 1 for r in rs if r["round"] in base]


def _pct(xs: list[float]) -> str:
    return " ".join(f"{x:+.0%}" for x in xs)


def growth_sessions(g: dict) -> list[str]:
    """The live-sessions table: each kind at each level, and its change against 1,000 per round."""
    results = g["sessions"]
    levels = sorted({r["live_sessions"] for r in results})
    rows = ["| kind | live sessions | keys in Isoko's Redis DB, median | hops/s median (min–max) | "
            "p50 ms median | p99 ms median (min–max) | p50 vs 1,000, per round | p99 vs 1,000, per round | "
            "Redis µs per command, median | Redis CPU µs per hop, median |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for (kind,), rs in _by(results, "kind").items():
        base = {r["round"]: r for r in rs if r["live_sessions"] == levels[0]}
        for n in levels:
            at = [r for r in rs if r["live_sessions"] == n]
            same = n == levels[0]
            rows.append(f"| {kind} | {n:,} | {statistics.median(r['dbsize_before'] for r in at):,.0f} | "
                        f"{_median_range([r['hops_per_s'] for r in at])} | "
                        f"{statistics.median(r['p50_ms'] for r in at):.1f} | "
                        f"{_median_range([r['p99_ms'] for r in at], '.1f')} | "
                        f"{'—' if same else _pct(_change(at, base, 'p50_ms'))} | "
                        f"{'—' if same else _pct(_change(at, base, 'p99_ms'))} | "
                        f"{_redis(at, 'redis_usec_per_call', '.2f')} | {_redis(at, 'redis_cpu_us_per_hop', '.0f')} |")
    return rows


def _redis(rs: list[dict], field: str, fmt: str) -> str:
    """The median of a Redis-side figure (absent from results older than it)."""
    values = [r[field] for r in rs if field in r]
    return f"{statistics.median(values):{fmt}}" if values else "—"


def growth_verdict(g: dict) -> list[str]:
    """The target (latency within 10 % from 1,000 to 100,000 live sessions), kind by kind,
    with the floor's change in the same runs as the measure of the machine's noise."""
    results = g["sessions"]
    levels = sorted({r["live_sessions"] for r in results})
    lines = []
    for (kind,), rs in _by(results, "kind").items():
        base = {r["round"]: r for r in rs if r["live_sessions"] == levels[0]}
        top = [r for r in rs if r["live_sessions"] == levels[-1]]
        p50, p99 = (statistics.median(_change(top, base, f)) for f in ("p50_ms", "p99_ms"))
        hs = statistics.median(_change(top, base, "hops_per_s"))
        inside = ""
        if all("redis_usec_per_call" in r for r in rs):
            inside = (f"; inside Redis {statistics.median(_change(top, base, 'redis_usec_per_call')):+.0%} "
                      f"per command, {statistics.median(_change(top, base, 'redis_cpu_us_per_hop')):+.0%} "
                      "CPU per hop")
        if kind == "floor":
            lines.append(f"- floor (its keyspace does not grow; the machine's noise): at {levels[-1]:,} "
                         f"live sessions p50 {p50:+.0%}, p99 {p99:+.0%}, hops/s {hs:+.0%}{inside} "
                         f"(medians of the per-round changes against {levels[0]:,}).")
            continue
        met = "met" if abs(p50) <= 0.10 and abs(p99) <= 0.10 else "missed"
        lines.append(f"- {kind}: at {levels[-1]:,} live sessions p50 {p50:+.0%}, p99 {p99:+.0%}, "
                     f"hops/s {hs:+.0%}{inside} against {levels[0]:,} (medians of the per-round changes): "
                     f"target {met}.")
    return lines


def _by_workers(rs: list[dict], key: str):
    """(worker count, its runs, `key` × 1 worker per round as text) for each count, fewest first."""
    base = {r["round"]: r for r in rs if r["workers"] == 1}
    for n in sorted({r["workers"] for r in rs}):
        at = [r for r in rs if r["workers"] == n]
        yield n, at, "—" if n == 1 else " ".join(f"{1 + x:.2f}" for x in _change(at, base, key))


def growth_workers(g: dict) -> list[str]:
    """The web-workers table: each kind at 1, 2, 4 gunicorn workers, against 1 worker per round."""
    results = g["workers"]
    rows = ["| kind | gunicorn workers (× 4 threads) | hops/s median (min–max) | p50 ms median | "
            "p99 ms median (min–max) | hops/s × 1 worker, per round |", "|---|---|---|---|---|---|"]
    for (kind,), rs in _by(results, "kind").items():
        for w, at, ratio in _by_workers(rs, "hops_per_s"):
            rows.append(f"| {kind} | {w} | {_median_range([r['hops_per_s'] for r in at])} | "
                        f"{statistics.median(r['p50_ms'] for r in at):.1f} | "
                        f"{_median_range([r['p99_ms'] for r in at], '.1f')} | {ratio} |")
    return rows


SMS_MODE_NAMES = {"one_drain": "one drain job (as a broadcast wakes it)",
                  "drain_per_worker": "one drain job per worker"}


def growth_sms(g: dict) -> list[str]:
    """The SMS table: SMS/s at 1, 2, 4 RQ workers, each way of waking drains."""
    rows = ["| drain jobs | RQ workers | SMS/s median (min–max), enqueue to last accepted | "
            "× 1 worker, per round | accepted / sent | duplicates |", "|---|---|---|---|---|---|"]
    for (mode,), rs in _by(g["sms"], "mode").items():
        for n, at, ratio in _by_workers(rs, "sms_per_s"):
            rows.append(f"| {SMS_MODE_NAMES.get(mode, mode)} | {n} | {_median_range([r['sms_per_s'] for r in at])} | "
                        f"{ratio} | {sum(r['accepted'] for r in at):,} / {sum(r['count'] for r in at):,} | "
                        f"{sum(r['duplicates'] for r in at)} |")
    return rows


def _curve(ax, xs: list, groups: dict[str, list[list[float]]], ylabel: str, style: str = "-o") -> None:
    """Medians joined by lines, min–max as error bars, one line per group; the
    n-th group of every call has the n-th colour (a kind's p50 and p99 match)."""
    for n, (label, per_x) in enumerate(groups.items()):
        med = [statistics.median(v) for v in per_x]
        lo = [m - min(v) for m, v in zip(med, per_x)]
        hi = [max(v) - m for m, v in zip(med, per_x)]
        ax.errorbar(xs, med, yerr=[lo, hi], fmt=style, capsize=3, label=label, color=f"C{n}")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def growth_plots(g: dict) -> list[str]:
    """The growth curves as PNGs in PLOTS (Agg); returns the page's image links."""
    PLOTS.mkdir(parents=True, exist_ok=True)
    links = []

    def save(fig, name: str, title: str) -> None:
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(PLOTS / name, dpi=100)
        pyplot.close(fig)
        links.append(f"![{title}]({PLOTS.name}/{name})")

    if g.get("sessions"):
        levels = sorted({r["live_sessions"] for r in g["sessions"]})
        kinds = _by(g["sessions"], "kind")
        fig, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4.2))
        _curve(left, levels, {k: [[r["hops_per_s"] for r in rs if r["live_sessions"] == n] for n in levels]
                              for (k,), rs in kinds.items()}, "hops/s (median, min–max)")
        _curve(right, levels, {f"{k} p99": [[r["p99_ms"] for r in rs if r["live_sessions"] == n] for n in levels]
                               for (k,), rs in kinds.items()}, "latency, ms (median, min–max)")
        _curve(right, levels, {f"{k} p50": [[r["p50_ms"] for r in rs if r["live_sessions"] == n] for n in levels]
                               for (k,), rs in kinds.items()}, "latency, ms (median, min–max)", "--s")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xticks(levels, [f"{n:,}" for n in levels])
            ax.set_xlabel("live sessions in Isoko's Redis (log scale)")
        save(fig, "growth-sessions.png", "USSD hops as live sessions grow (2 gunicorn workers × 4 threads)")
    if g.get("workers"):
        counts = sorted({r["workers"] for r in g["workers"]})
        kinds = _by(g["workers"], "kind")
        fig, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4.2))
        _curve(left, counts, {k: [[r["hops_per_s"] for r in rs if r["workers"] == w] for w in counts]
                              for (k,), rs in kinds.items()}, "hops/s (median, min–max)")
        _curve(right, counts, {f"{k} p99": [[r["p99_ms"] for r in rs if r["workers"] == w] for w in counts]
                               for (k,), rs in kinds.items()}, "p99 latency, ms (median, min–max)")
        for ax in (left, right):
            ax.set_xticks(counts)
            ax.set_xlabel("gunicorn workers (WEB_CONCURRENCY, 4 threads each)")
        save(fig, "growth-workers.png", "USSD hops as web workers grow (wrk, 16 connections)")
    if g.get("sms"):
        counts = sorted({r["workers"] for r in g["sms"]})
        fig, ax = pyplot.subplots(figsize=(6.5, 4.2))
        _curve(ax, counts, {SMS_MODE_NAMES.get(m, m): [[r["sms_per_s"] for r in rs if r["workers"] == n]
                                                     for n in counts]
                            for (m,), rs in _by(g["sms"], "mode").items()}, "SMS/s (median, min–max)")
        ax.set_xticks(counts)
        ax.set_xlabel("RQ worker processes")
        save(fig, "growth-sms.png", "SMS sent as RQ workers grow (throttle lifted)")
    return links


def growth() -> list[str]:
    """The "Growth" section from bench/growth.py's results, or a plain "not measured"."""
    if not GROWTH.exists():
        return ["Not measured in this run (`bench/growth.py` wrote no results)."]
    g = json.loads(GROWTH.read_text())
    s = g["settings"]
    links = growth_plots(g)
    lines = [f"`{g['command']}`: {s['rounds']} interleaved rounds, each run {s['seconds']} s of "
             f"`wrk -t{s['connections']} -c{s['connections']}` with every reply checked, as above; load "
             f"average {g['load_before'][0]:.2f} before and {g['load_after'][0]:.2f} after "
             f"({g['minutes']} minutes).", ""]
    if g.get("sessions"):
        m = g["realism"]
        lines += ["### Live sessions", "",
                  "Isoko's Redis database holds N live sessions, then the floor and two Isoko kinds run. "
                  "The sessions are written as hops leave them (`SessionStore.finish` and the hop counter "
                  "of `begin`) from three made by real hops — a new phone's first hop, a registration at "
                  "its district page (with its resume snapshot), a registered phone's first hop (with its "
                  "profile) — each with a phone and session id of its own; every level is written afresh "
                  "before its runs, the levels' order rotating per round, and the runs start once Redis has "
                  "finished rehashing the grown keyspace (a doubled table, past 262,144 keys, takes about "
                  "20 s idle, during which every command costs 2–4× inside Redis: a transient traffic meets "
                  "once per doubling, not the steady state measured here). The keys column counts every key "
                  "of the database before the run, those the bench's earlier runs left included; the last "
                  "two columns are Redis's own account (`INFO commandstats`, `used_cpu_*`), which the "
                  "machine's noise moves far less than wrk's latencies.", "",
                  f"Check at {m['sessions']:,} sessions: {m['keys_added']:,} keys (`DBSIZE`), "
                  f"{m['bytes_per_session']:.0f} bytes per session (`used_memory`, the hop stream's entries "
                  "included); `MEMORY USAGE` of the real sessions' keys against their copies' (median): "
                  + "; ".join(f"{name}: " + ", ".join(f"`{k}` {v['real'][k]} B / {v['filler_median'][k]:.0f} B"
                                                      for k in v["real"])
                              for name, v in m["by_template"].items()) + ".", "",
                  *growth_sessions(g), "",
                  "Target: latency flat (within 10 %) from 1,000 to 100,000 live sessions.", "",
                  *growth_verdict(g), ""]
    if g.get("workers"):
        lines += ["### Web workers", "",
                  "Floor and Isoko restarted with `WEB_CONCURRENCY` 1, 2, 4 (4 threads each) in each "
                  f"round ({s.get('web_rounds', s['rounds'])} rounds), at 1,000 live sessions plus those "
                  "the runs leave; the machine has "
                  f"{os.cpu_count()} CPUs, shared with wrk and Redis.", "", *growth_workers(g), ""]
    if g.get("sms"):
        lines += ["### SMS by RQ workers", "",
                  f"{s['sms_batch']:,} SMS a batch, {s['sms_rounds']} rounds, to the loopback provider "
                  f"simulator answering each send in {s['sms_delay_s'] * 1000:.0f} ms; "
                  "`SMS_RATE_PER_SECOND` 10,000 (the per-sender throttle lifted), Isoko's default "
                  "`SMS_CONCURRENCY`; the workers are started and idle before the batch is queued. A "
                  "drain job is what sends, so a worker without one idles: a broadcast (`enqueue_many`) "
                  "wakes one; the second way wakes one more per extra worker.", "", *growth_sms(g), ""]
    if links:
        lines += ["### Plots", "", *[f"{link}\n" for link in links]]
    return lines


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
        "## Peers: the same 3-screen journey",
        "",
        *peers_section(data),
        "",
        "## Counts per hop",
        "",
        *counts(),
        "",
        "## Growth",
        "",
        *growth(),
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
    lines += ["", "## Targets of issue 12", "", *targets(data), ""]
    PAGE.write_text("\n".join(lines))
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
