"""`/healthz` within a second, whatever Redis or the database do.

Each check runs on a thread of its own and the answer waits for it at most
`TIMEOUT_SECONDS`; a check still running then counts as failed. A frozen
server holds the check's thread, not the request, and at most one thread per
check: the next `/healthz` waits on the same check instead of starting
another, so a long freeze costs one thread per check, never a pile.
"""
from __future__ import annotations

import threading
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
        self._running: dict[tuple[str, ...], Future] = {}
        self._lock = threading.Lock()

    def run(self) -> dict[str, bool]:
        """Every name's state; False for a check that failed, raised or is
        not done within the timeout."""
        futures = {names: self._start(names) for names in self.checks}
        wait_all(list(futures.values()), timeout=self.timeout)
        state: dict[str, bool] = {}
        for names, future in futures.items():
            result = future.result() if future.done() and future.exception() is None else {}
            state.update({name: bool(result.get(name)) for name in names})
        return state

    def _start(self, names: tuple[str, ...]) -> Future:
        with self._lock:
            running = self._running.get(names)
            if running is None or running.done():
                running = self.pool.submit(self.checks[names])
                self._running[names] = running
            return running
