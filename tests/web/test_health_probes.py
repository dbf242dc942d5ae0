"""`/healthz`'s checks (`gateway.web.health.Probes`): a check that hangs
fails its request within the timeout, and the requests after it at once,
without a second thread; a check that answers again is healthy again."""
from __future__ import annotations

import threading
import time

from gateway.web.health import Probes

TIMEOUT = 0.3


def timed(probes: Probes) -> tuple[float, dict]:
    started = time.monotonic()
    state = probes.run()
    return time.monotonic() - started, state


def test_a_hanging_check_fails_the_first_request_in_its_timeout_and_the_next_ones_at_once():
    release, calls = threading.Event(), []

    def hanging() -> dict:
        calls.append(1)
        release.wait(10)
        return {"redis": True}

    probes = Probes({("redis",): hanging, ("database", "menu"): lambda: {"database": True, "menu": True}},
                    timeout=TIMEOUT)
    try:
        seconds, state = timed(probes)
        assert state == {"redis": False, "database": True, "menu": True}
        assert TIMEOUT * 0.9 <= seconds < TIMEOUT + 0.2
        for _ in range(3):  # still hanging: no wait, no second thread
            seconds, state = timed(probes)
            assert state["redis"] is False and state["database"] is True and seconds < TIMEOUT / 3
        assert len(calls) == 1
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while not probes.run()["redis"] and time.monotonic() < deadline:  # bounded
        time.sleep(0.05)
    assert probes.run() == {"redis": True, "database": True, "menu": True}
    assert len(calls) >= 2  # a fresh check, once the hung one had returned


def test_a_check_that_raises_counts_as_failed_and_the_others_still_answer():
    def broken() -> dict:
        raise ConnectionError("gone")

    probes = Probes({("redis",): broken, ("database", "menu"): lambda: {"database": True, "menu": False}},
                    timeout=TIMEOUT)
    seconds, state = timed(probes)
    assert state == {"redis": False, "database": True, "menu": False} and seconds < TIMEOUT
