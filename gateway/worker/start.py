"""Starting workers: the worker side's composition root. It sets up what jobs
use (`gateway.core.jobs`) from one `Settings`, puts the SMS pipeline back in
order (`gateway.sms.sweep.restart`: a drain at once), and runs the RQ worker (its own process) or a thread inside `serve`."""
from __future__ import annotations

import logging
import threading
import time

import redis
from redis import Redis

from gateway.core import jobs
from gateway.core.redis_conn import client_for
from gateway.core.settings import Settings
from gateway.sms import sweep
from gateway.sms import texts as smstexts
from gateway.worker import runner

log = logging.getLogger(__name__)


def configure(settings: Settings) -> None:
    """What every job of this process will use, built from `settings`: its
    sessions render the SMS texts the operators published."""
    jobs.configure(settings.database_url, settings=settings, prepare=smstexts.use_published)


def inprocess(settings: Settings, connection: Redis,
              stop: threading.Event) -> tuple[threading.Thread, int]:
    """`gateway serve`'s worker thread on `connection`; returns the thread and
    how many queued SMS left from an earlier run were put back in the queue."""
    configure(settings)
    thread = runner.start_inprocess_worker(connection, stop)
    return thread, sweep.restart(jobs.database(), connection)


def standalone(settings: Settings) -> None:
    """`gateway worker`: every queue, RQ's scheduler and the periodic tasks
    (SMS retries, sweep, order expiry), until stopped."""
    configure(settings)
    connection = client_for(settings)
    sweep.restart(jobs.database(), connection)
    _work_through_failovers(connection)


# A Redis failover (REDIS_SENTINELS) makes RQ quit on the lost connection;
# the worker starts again on the promoted master, a bounded number of times
# in a row (a Redis gone for good still ends the process, for its supervisor).
FAILOVER_RESTARTS = 30
FAILOVER_PAUSE_SECONDS = 1.0


def _work_through_failovers(connection) -> None:
    """Run the worker; after a lost Redis connection, run a new one (the
    Sentinel pool finds the master again), up to FAILOVER_RESTARTS failures
    in a row (a run that lasted a minute starts the count again)."""
    failures = 0
    while True:  # bounded: returns, or raises after FAILOVER_RESTARTS failures in a row
        started = time.monotonic()
        try:
            runner.run_worker(connection)
            return
        except redis.ConnectionError:
            failures = 1 if time.monotonic() - started > 60 else failures + 1
            if failures > FAILOVER_RESTARTS:
                raise
            log.warning("worker lost Redis; starting again (%d in a row)", failures)
        time.sleep(FAILOVER_PAUSE_SECONDS)
