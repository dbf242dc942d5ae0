"""Periodic tasks, run by every kind of worker, once per interval overall.

To add a task, append `(interval_seconds, function)` to `PERIODIC`, e.g.
`(60, expire_orders)`. The function takes no arguments and runs as an RQ job
on the `isoko-periodic` queue (timeout TASK_TIMEOUT); it finds the database
with `gateway.core.jobs.database()` and the job's Redis with
`gateway.core.jobs.redis()`. It must be idempotent: a tick can be late or,
after a crash, repeated. A task is named by its dotted path (module and name),
which keys its flags.

How it runs: a *tick* (`tick(connection)`) goes through the list and, for
each task, tries `SET isoko:periodic:due:<path> NX PX <interval>`; whoever
sets it enqueues the task, so across any number of workers a task is
enqueued at most once per interval. A second flag (`...:pending:<path>`,
cleared by the job's success or failure callback, TTL TASK_TIMEOUT) keeps a task from being queued
again while a run is still waiting or running: runs of one task never pile
up behind a long job and never overlap.

Who ticks: the in-process worker of `gateway serve` before each burst
(`gateway.worker.runner`), and `runner.run_worker` (for `gateway worker`)
in a small daemon thread, once a second. Only SET and RPUSH are used, so it
works the same on the embedded store (no Lua) and on Redis.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from rq import Queue
from rq.job import Callback, Job

from gateway.api.deliveries import tick as webhooks_tick
from gateway.market.alert_jobs import tick as price_alerts_tick
from gateway.market.want_jobs import tick as wants_tick
from gateway.orders.jobs import expire_orders, mark_overdue_orders
from gateway.payments.jobs import tick as payments_tick
from gateway.sms import queue as queues
from gateway.sms.jobs import tick as sms_tick
from gateway.sms.sweep import sweep
from gateway.ussd.registered import refresh_job as registered_phones_refresh
from gateway.ussd.sessionlog import drain_hops

log = logging.getLogger(__name__)

PERIODIC: list[tuple[float, Callable[[], object]]] = [
    (2, sms_tick),  # wakes a drain for due retries, after a hold, for lost wake-ups
    (60, sweep),  # re-adds queued rows, settles stale `sending` rows
    (60, expire_orders),  # unanswered orders expire; both sides told
    (300, mark_overdue_orders),  # accepted, not delivered in DELIVERY_DAYS: overdue, for operators
    (10, drain_hops),  # the hop stream into one row per USSD session (the dashboard's sessions)
    (2, webhooks_tick),  # order events to webhook deliveries; due deliveries queued
    (5, payments_tick),  # mobile money: due collections and transfers checked (nothing without MOMO_*)
    (600, price_alerts_tick),  # price alerts a lost job or the one-a-day limit held back
    (30, wants_tick),  # wants past their date expire; a want whose matching job was lost is queued again
    (60, registered_phones_refresh),  # the registered phones' set made whole from SQL when it is not
]

DUE_KEY = "isoko:periodic:due:{path}"
PENDING_KEY = "isoko:periodic:pending:{path}"
TASK_TIMEOUT = 300  # seconds
TICK_PERIOD = 1.0  # seconds between ticks of run_ticker
MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class Task:
    every: float
    function: Callable[[], object]

    @property
    def path(self) -> str:
        """The function's dotted path: how RQ names the job, and the flags' key."""
        return f"{self.function.__module__}.{self.function.__qualname__}"


def tasks(entries: list[tuple[float, Callable]] | None = None) -> list[Task]:
    """The registered tasks, checked: a positive interval and a module-level function."""
    checked = []
    for entry in PERIODIC if entries is None else entries:
        every, function = entry
        if not callable(function) and callable(every):  # (function, 60) also reads fine
            every, function = function, every
        if (not callable(function) or "." in getattr(function, "__qualname__", ".")
                or not float(every) > 0):
            raise ValueError(f"periodic task {entry!r}: want (interval_seconds, module-level function)")
        checked.append(Task(float(every), function))
    return checked


def tick(connection: Redis, entries: list[tuple[float, Callable]] | None = None) -> list[str]:
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
        Queue.prepare_data(task.function, timeout=TASK_TIMEOUT,
                           job_id=f"periodic-{task.path.replace('.', '_')}-{uuid.uuid4().hex[:8]}",
                           result_ttl=60, failure_ttl=queues.SMS_FAILURE_TTL,
                           description=f"periodic {task.path}",
                           on_success=Callback(ran), on_failure=Callback(ran), on_stopped=Callback(ran))
        for task in free
    ])
    return [task.path for task in free]


def ran(job: Job, connection: Redis, *_outcome) -> None:
    """A periodic job ended (its success, failure or stop callback): let the
    next tick queue the task again."""
    try:
        connection.delete(PENDING_KEY.format(path=job.func_name))
    except Exception:  # the flag's TTL clears it anyway
        log.warning("periodic %s: could not clear its pending flag", job.func_name)


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

