"""An RQ worker inside the web process, for `gateway serve` without a worker.

RQ's Worker is built to own a process: `work()` installs SIGINT/SIGTERM
handlers (`signal.signal` raises ValueError off the main thread), times jobs
out with SIGALRM (main thread only), and obeys a pub/sub "shutdown" command
by sending SIGINT to its own pid (here: the web server). `ThreadWorker`
switches those off and uses RQ's thread-safe `TimerDeathPenalty` instead.

The thread runs `work(burst=True)` (drain the queues, then return) every
`poll_interval` seconds until the stop event is set. A burst does not wait
for jobs (no BLPOP), so stopping takes at most one poll interval plus the
job in progress, and it behaves the same on `fakeredis.FakeRedis` and a real
Redis. One exception: when Redis vanishes in the middle of a burst, RQ
retries inside the burst until it is back; the thread is a daemon, so even
then it never holds the process up at exit.

Before each burst the thread ticks the periodic tasks (`workers.periodic`):
retries coming due, the end of an SMS hold and the sweeper need no RQ
scheduler, which the embedded store could not run (RQ's scheduler locks
with Lua scripts; fakeredis has no Lua).

`run_worker` is the separate worker process (`gateway worker`): RQ's forking
Worker (with its scheduler) plus a daemon thread that ticks the periodic
tasks once a second.
"""
from __future__ import annotations

import logging
import threading
import uuid

from redis import Redis
from rq import Worker
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker
from sqlalchemy.orm import configure_mappers

import gateway.api.deliveries  # noqa: F401
import gateway.payments.jobs  # noqa: F401
import gateway.sms.jobs  # noqa: F401
import gateway.sms.providers.africastalking  # noqa: F401
import gateway.sms.sweep  # noqa: F401
from gateway.api.deliveries import WEBHOOK_QUEUE
from gateway.core import jobs as context
from gateway.market.want_jobs import WANTS_QUEUE
from gateway.payments.jobs import PAYMENTS_QUEUE
from gateway.sms.queue import ALL_QUEUES as SMS_QUEUES
from gateway.sms.queue import SERIALIZER
from gateway.worker import periodic

log = logging.getLogger(__name__)

# Every queue a worker serves: the SMS pipeline's, the webhook deliveries', the
# payments', the wants' matching.
ALL_QUEUES: tuple[str, ...] = (*SMS_QUEUES, WEBHOOK_QUEUE, PAYMENTS_QUEUE, WANTS_QUEUE)

POLL_INTERVAL = 0.5  # seconds between bursts
MAX_BACKOFF = 30.0  # seconds between attempts while Redis is unreachable


class _QuietLog(logging.LoggerAdapter):
    """RQ logs start, stop and each job at INFO; a worker restarted every half
    second would flood the web log, so its INFO becomes DEBUG."""

    def info(self, msg, *args, **kwargs):  # noqa: ANN001 - logging's signature
        self.debug(msg, *args, **kwargs)


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that can run off the main thread of a web process."""

    death_penalty_class = TimerDeathPenalty
    # RQ's in-burst reconnect backoff (default up to 60 s) delays noticing
    # the stop event; keep it short.
    max_connection_wait_time = 5.0

    def _install_signal_handlers(self) -> None:
        # Signals belong to the web server that owns the main thread.
        pass

    def subscribe(self) -> None:
        # No pub/sub listener: its "shutdown" command would SIGINT the web
        # server, and a thread per burst is waste.
        pass

    def unsubscribe(self) -> None:
        pass


def _keep_rq_off_logging() -> None:
    """Stop RQ from configuring logging in the web process.

    Each `work()` calls RQ's setup_loghandlers, which, when the `rq.*`
    loggers have no handler up their hierarchy, adds stdout/stderr handlers
    and turns propagation off, taking RQ's records away from the application.
    A NullHandler counts as "a handler" and still lets records propagate.
    """
    for name in ("rq.worker", "rq.job"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


def make_worker(connection: Redis) -> ThreadWorker:
    """A ThreadWorker on every queue, with the project's serializer."""
    _keep_rq_off_logging()
    worker = ThreadWorker(
        list(ALL_QUEUES),
        connection=connection,
        serializer=SERIALIZER,
        name=f"isoko-inprocess-{uuid.uuid4().hex[:12]}",
    )
    worker.log = _QuietLog(logging.getLogger("rq.worker"), {})
    return worker


def start_inprocess_worker(
    connection: Redis, stop_event: threading.Event, *, poll_interval: float = POLL_INTERVAL
) -> threading.Thread:
    """Start a daemon thread that runs jobs from ALL_QUEUES until `stop_event`
    is set; join the returned thread to wait for it.

    Returns at once: even the worker's construction (which talks to Redis)
    happens in the thread. Job errors are recorded by RQ (failed registry);
    an error of the loop itself (Redis unreachable) is logged and retried
    with a growing delay, so a Redis outage does not stop SMS for good.
    """
    thread = threading.Thread(
        target=_run,
        args=(connection, stop_event, poll_interval),
        name="isoko-inprocess-worker",
        daemon=True,
    )
    thread.start()
    return thread


def _run(connection: Redis, stop_event: threading.Event, poll_interval: float) -> None:
    worker: ThreadWorker | None = None
    failures = 0
    while not stop_event.is_set():
        try:
            if worker is None:
                worker = make_worker(connection)
                log.info("in-process worker %s started on %s", worker.name, ", ".join(ALL_QUEUES))
            periodic.tick(connection)
            # logging_level=None: leave the application's logging alone.
            worker.work(burst=True, logging_level=None)
            failures = 0
        except Exception:
            failures += 1
            log.exception("in-process worker: burst failed (%d in a row)", failures)
        # Back off while failing (Redis down) so the log is not flooded.
        stop_event.wait(min(poll_interval * 2**failures, MAX_BACKOFF))
    log.info("in-process worker %s stopped", worker.name if worker else "(never started)")


def run_worker(connection: Redis, *, burst: bool = False, worker_class: type | None = None,
               with_scheduler: bool = True, tick_period: float = periodic.TICK_PERIOD,
               logging_level: str | None = None) -> bool:
    """Run an RQ worker on every queue until it is stopped (or, with `burst`,
    until the queues are empty), ticking the periodic tasks in a daemon
    thread meanwhile (not in burst mode: a burst ticks once first).

    This is what `gateway worker` should run. Returns what `Worker.work` returns.
    """

    _preload()
    cls = worker_class or Worker
    worker = cls(list(ALL_QUEUES), connection=connection, serializer=SERIALIZER)
    stop = threading.Event()
    ticker = None
    if burst:
        periodic.tick(connection)
    else:
        ticker = periodic.start_ticker(connection, stop, tick_period)
    try:
        return worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=logging_level)
    finally:
        stop.set()
        if ticker is not None:
            ticker.join(timeout=5)


def _preload() -> None:
    """Warm the parent up: RQ's Worker forks a work horse per job, and a child
    that must import requests and the provider SDK, configure the SQLAlchemy
    mappers and initialise the database dialect spends up to half a second
    on it, for every job."""


    configure_mappers()
    try:
        context.database().ping()  # the dialect learns the server's version once, here
    except Exception:  # a job will report it properly
        log.warning("worker: the database is not reachable yet")
