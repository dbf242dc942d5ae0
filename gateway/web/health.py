"""`/healthz` within a second, whatever Redis or the database do.

Each check runs on a thread of its own and counts as failed when it has
not answered `TIMEOUT_SECONDS` after it started. A frozen server holds the
check's thread, not the request, and at most one thread per check: the next
`/healthz` finds the same check still running instead of starting another,
so a long freeze costs one thread per check, never a pile. Nor a wait: a
check already past its timeout fails the request at once, so through a long
freeze only the first request waits the timeout out, and the load
balancer's probes get their 503 in milliseconds.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all

# Below the 1 s promised to the load balancer: the rest is Flask's and the network's.
TIMEOUT_SECONDS = 0.7

Check = Callable[[], dict[str, bool]]


class Probes:
    """Named checks, each returning {name: ok} for the names it covers."""

    def __init__(self, checks: dict[tuple[str, ...], Check], timeout: float = TIMEOUT_SECONDS):
        self.checks, self.timeout = checks, timeout
        self.pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="isoko-health")
        self._running: dict[tuple[str, ...], tuple[Future, float]] = {}
        self._lock = threading.Lock()

    def run(self) -> dict[str, bool]:
        """Every name's state; False for a check that failed, raised or is
        not done within the timeout of its start."""
        started = {names: self._start(names) for names in self.checks}
        for future, at in started.values():  # each until its own deadline: at most the timeout in all
            wait_all([future], timeout=max(0.0, at + self.timeout - time.monotonic()))
        state: dict[str, bool] = {}
        for names, (future, _) in started.items():
            result = future.result() if future.done() and future.exception() is None else {}
            state.update({name: bool(result.get(name)) for name in names})
        return state

    def _start(self, names: tuple[str, ...]) -> tuple[Future, float]:
        """The check's future and when it started: the one still running,
        else a new one."""
        with self._lock:
            running = self._running.get(names)
            if running is None or running[0].done():
                running = (self.pool.submit(self.checks[names]), time.monotonic())
                self._running[names] = running
            return running
