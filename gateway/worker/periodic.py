"""Periodic tasks, run by every kind of worker, once per interval overall.

To add a task, append `(interval_seconds, "dotted.path.function")` to
`PERIODIC`, e.g. `(60, "gateway.orders.jobs.expire_orders")`. The function
takes no arguments and runs as an RQ job on the `isoko-periodic` queue
(timeout TASK_TIMEOUT); it finds the database with `workers.context.database()`
and the job's Redis with `workers.context.redis()`. It must be idempotent:
a tick can be late or, after a crash, repeated.

How it runs: a *tick* (`tick(connection)`) goes through the list and, for
each task, tries `SET isoko:periodic:due:<path> NX PX <interval>`; whoever
sets it enqueues the task, so across any number of workers a task is
enqueued at most once per interval. A second flag (`...:pending:<path>`,
cleared when the run ends, TTL TASK_TIMEOUT) keeps a task from being queued
again while a run is still waiting or running: runs of one task never pile
up behind a long job and never overlap.

Who ticks: the in-process worker of `gateway serve` before each burst
(`workers.runner`), and `workers.runner.run_worker` (for `gateway worker`)
in a small daemon thread, once a second. Only SET and RPUSH are used, so it
works the same on the embedded store (no Lua) and on Redis.
"""
from __future__ import annotations

import importlib
import logging
import threading
import uuid
from dataclasses import dataclass

from redis import Redis
from rq import Queue

from gateway.sms import queue as queues

log = logging.getLogger(__name__)

PERIODIC: list[tuple[float, str]] = [
    (2, "gateway.sms.jobs.tick"),  # wakes a drain for due retries, after a hold, for lost wake-ups
    (60, "gateway.sms.sweep.sweep"),  # re-adds queued rows, settles stale `sending` rows
    (60, "gateway.orders.jobs.expire_orders"),  # unanswered orders expire; both sides told
]

DUE_KEY = "isoko:periodic:due:{path}"
PENDING_KEY = "isoko:periodic:pending:{path}"
RUN_JOB = "gateway.worker.periodic.run_task"
TASK_TIMEOUT = 300  # seconds
TICK_PERIOD = 1.0  # seconds between ticks of run_ticker
MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class Task:
    every: float
    path: str


def tasks(entries: list[tuple[float, str]] | None = None) -> list[Task]:
    """The registered tasks, checked: a positive interval and a dotted path."""
    checked = []
    for entry in PERIODIC if entries is None else entries:
        every, path = entry
        if isinstance(every, str) and not isinstance(path, str):  # ("path", 60) also reads fine
            every, path = path, every
        if not isinstance(path, str) or "." not in path or not float(every) > 0:
            raise ValueError(f"periodic task {entry!r}: want (interval_seconds, 'module.function')")
        checked.append(Task(float(every), path))
    return checked


def tick(connection: Redis, entries: list[tuple[float, str]] | None = None) -> list[str]:
    """Enqueue the tasks whose interval has passed; returns their paths.
    One round trip when none is due."""
    todo = tasks(entries)
    if not todo:
        return []
    token = uuid.uuid4().hex
    pipe = connection.pipeline(transaction=False)
    for task in todo:
        pipe.set(DUE_KEY.format(path=task.path), token, nx=True, px=max(1, int(task.every * 1000)))
    due = [task for task, won in zip(todo, pipe.execute()) if won]
    if not due:
        return []
    pipe = connection.pipeline(transaction=False)
    for task in due:
        pipe.set(PENDING_KEY.format(path=task.path), token, nx=True, ex=TASK_TIMEOUT)
    free = [task for task, won in zip(due, pipe.execute()) if won]
    if not free:
        return []
    periodic = queues.queue(connection, queues.PERIODIC_QUEUE)
    periodic.enqueue_many([
        Queue.prepare_data(RUN_JOB, args=(task.path,), timeout=TASK_TIMEOUT,
                           job_id=f"periodic-{task.path.replace('.', '_')}-{uuid.uuid4().hex[:8]}",
                           result_ttl=60, failure_ttl=queues.SMS_FAILURE_TTL,
                           description=f"periodic {task.path}")
        for task in free
    ])
    return [task.path for task in free]


def run_task(path: str):
    """The job a tick enqueues: run the task at `path`, then let the next
    tick queue it again."""
    from gateway.core import jobs as context

    connection = context.redis()
    try:
        module_name, _, name = path.rpartition(".")
        function = getattr(importlib.import_module(module_name), name)
        return function()
    finally:
        try:
            connection.delete(PENDING_KEY.format(path=path))
        except Exception:  # the flag's TTL clears it anyway
            log.warning("periodic %s: could not clear its pending flag", path)


def run_ticker(connection: Redis, stop: threading.Event, period: float = TICK_PERIOD) -> None:
    """Tick every `period` seconds until `stop` is set (errors are logged and
    retried with a growing delay)."""
    failures = 0
    while not stop.is_set():
        try:
            tick(connection)
            failures = 0
        except Exception:
            failures += 1
            log.exception("periodic ticker: tick failed (%d in a row)", failures)
        stop.wait(min(period * 2 ** failures, MAX_BACKOFF))


def start_ticker(connection: Redis, stop: threading.Event, period: float = TICK_PERIOD) -> threading.Thread:
    """Run `run_ticker` in a daemon thread; set `stop` and join to end it."""
    thread = threading.Thread(target=run_ticker, args=(connection, stop, period),
                              name="isoko-periodic-ticker", daemon=True)
    thread.start()
    return thread

