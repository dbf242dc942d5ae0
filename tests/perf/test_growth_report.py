"""The "Growth" section of docs/performance.md (bench/report.py) from a small,
made-up growth.json: its tables, the 10 % verdict, the PNG plots, and the
plain "not measured" when the bench wrote nothing.

matplotlib, which draws the plots, is in the test extra as well as the bench's.
"""
from __future__ import annotations

import json

import pytest

from bench import report

LEVELS = (1_000, 10_000, 100_000)


def run(kind: str, rnd: int, p50: float, p99: float, hops: float, **extra) -> dict:
    return {"kind": kind, "round": rnd, "p50_ms": p50, "p99_ms": p99, "hops_per_s": hops, **extra}


def growth_data() -> dict:
    sessions = []
    for rnd in range(2):
        for n in LEVELS:
            slower = 1.2 if n == LEVELS[-1] else 1.0  # first_known 20 % slower at 100,000
            redis = {"redis_usec_per_call": 2.0, "redis_cpu_us_per_hop": 50 * slower}
            sessions += [run("floor", rnd, 10, 40, 900, live_sessions=n, dbsize_before=3 * n, **redis),
                         run("first_known", rnd, 20 * slower, 80 * slower, 500 / slower,
                             live_sessions=n, dbsize_before=3 * n, **redis),
                         run("navigation", rnd, 30, 100 + rnd, 400, live_sessions=n, dbsize_before=3 * n,
                             **redis)]
    workers = [run(kind, rnd, 20, 80, hops * w, workers=w)
               for rnd in range(2) for w in (1, 2, 4) for kind, hops in (("floor", 500), ("first_known", 300))]
    sms = [{"workers": n, "mode": mode, "round": rnd, "count": 100, "accepted": 100, "duplicates": 0,
            "sms_per_s": 200.0 * (n if mode == "drain_per_worker" else 1), "seconds": 0.5}
           for rnd in range(2) for n in (1, 2, 4) for mode in ("one_drain", "drain_per_worker")]
    realism = {"sessions": 100_000, "keys_added": 266_666, "bytes_per_session": 845.0,
               "by_template": {"first_hop": {"real": {"s": 264}, "filler_median": {"s": 264}}}}
    return {"command": "bench/growth.py --quick", "minutes": 4.0, "load_before": [1.0, 1, 1],
            "load_after": [2.0, 2, 2], "realism": realism, "sessions": sessions, "workers": workers,
            "sms": sms, "settings": {"rounds": 2, "seconds": 3, "connections": 16, "sms_rounds": 2,
                                     "sms_batch": 100, "sms_delay_s": 0.05}}


@pytest.fixture
def paths(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "GROWTH", tmp_path / "growth.json")
    monkeypatch.setattr(report, "PLOTS", tmp_path / "performance")
    return tmp_path


def test_missing_results_say_not_measured(paths):
    assert report.growth() == ["Not measured in this run (`bench/growth.py` wrote no results)."]
    assert not (paths / "performance").exists()


def test_verdict_per_kind_against_1000_sessions(paths):
    (paths / "growth.json").write_text(json.dumps(growth_data()))
    page = "\n".join(report.growth())
    assert "- first_known: at 100,000 live sessions p50 +20%, p99 +20%" in page
    assert "first_known: at 100,000 live sessions p50 +20%, p99 +20%, hops/s -17%; inside Redis +0% " \
           "per command, +20% CPU per hop against 1,000 (medians of the per-round changes): target missed." in page
    assert "navigation: at 100,000 live sessions p50 +0%, p99 +0%, hops/s +0%; inside Redis +0% " \
           "per command, +20% CPU per hop against 1,000 (medians of the per-round changes): target met." in page
    assert "- floor (its keyspace does not grow; the machine's noise)" in page
    # The per-round changes and the worker/SMS ratios are in the tables.
    assert "| first_known | 100,000 | 300,000 | 417 (417–417) | 24.0 | 96.0 (96.0–96.0) | +20% +20% | +20% +20% " \
           "| 2.00 | 60 |" in page
    assert "| first_known | 4 | 1200 (1200–1200) | 20.0 | 80.0 (80.0–80.0) | 4.00 4.00 |" in page
    assert "| one drain job per worker | 4 | 800 (800–800) | 4.00 4.00 | 200 / 200 | 0 |" in page
    assert "| one drain job (as a broadcast wakes it) | 4 | 200 (200–200) | 1.00 1.00 |" in page


def test_plots_are_pngs_linked_from_the_page(paths):
    (paths / "growth.json").write_text(json.dumps(growth_data()))
    page = report.growth()
    names = ("growth-sessions.png", "growth-workers.png", "growth-sms.png")
    for name in names:
        png = (paths / "performance" / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
        assert any(f"(performance/{name})" in line for line in page)
