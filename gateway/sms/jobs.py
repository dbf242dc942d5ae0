"""The SMS jobs: `drain` (the normal way), `send_sms` (one message), `tick`.

Every SMS is a `Message` row first; `workers.keys.enqueue_sms` puts its id
in the due set and makes sure a drain job is queued. A drain:

1. takes due ids from Redis, as many as it has free sending slots and the
   per-sender throttle allows right now (SMS_RATE_PER_SECOND, shared by all
   workers);
2. claims them in SQL (status queued -> sending; see `gateway.sms.sender`),
   dropping those too old or opted out;
3. hands each to a thread pool (SMS_CONCURRENCY provider calls in flight);
4. records finished sends in batches, with the retry taxonomy of the
   provider adapter: accepted -> sent; retry -> queued again with
   exponential backoff (next_attempt_at), failed after SMS_MAX_ATTEMPTS;
   failed -> failed at once, reason kept; hold (405 InsufficientBalance,
   HTTP 401/403 bad credentials) -> the message waits, and a Redis flag
   with a TTL stops every drain from claiming anything until it expires or
   `gateway sms resume` clears it (a worker starting clears a credential
   hold: it may bring the new key); unknown (a read timeout) -> resent for
   at-least-once kinds, else `unknown`; outage failures feed the circuit
   (`gateway.sms.circuit`): while it is open nothing is claimed, and while
   it is half-open one drain sends a single probe;
5. loops until nothing is due, lingering briefly for new or soon-due work,
   then clears the wake flag, looks once more, and ends. After its time
   budget it hands over to a fresh drain job instead.

A drain running twice, or two at once (two workers), sends each row once:
only the claim that flips a row from queued to sending sends it.

A row left in `sending` by a worker that died may or may not have reached
the provider. It is never resent automatically: when its lease runs out the
sweeper marks it `unknown`, a delivery report for its number settles it,
and without one it goes to `review` (a late result from a worker that was
merely slow still wins). An operator can requeue it with `gateway sms requeue ID`.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from concurrent import futures

from redis import Redis
from redis.client import Pipeline
from rq import Queue

from gateway.core import jobs as context
from gateway.sms import keys
from gateway.sms.circuit import HALF_OPEN
from gateway.sms.providers import Provider, provider_for
from gateway.sms.sender import Claimed, Sender

log = logging.getLogger(__name__)

POLL = 0.05  # seconds between looks at the due set while idle or throttled
RECORD_DELAY = 0.02  # seconds a finished send may wait to be recorded with others
HOLD_CHECK = 1.0  # seconds between looks at the hold flag while sending
WAKE_REFRESH = 10.0  # seconds between refreshes of the wake flag by a running drain


def provider() -> Provider:
    """This process's SMS provider: the one configured (tests), else the one
    the settings name, built once per process (HTTP sessions do not survive a fork)."""
    configured = context.configured_provider()
    if configured is not None:
        return configured
    return context.per_process("sms.provider", lambda: provider_for(
        context.settings(), timeout=context.sms().provider_timeout))


def sender(connection: Redis) -> Sender:
    """A Sender built from this process's context."""
    return Sender(context.database(), connection, provider(), context.sms(),
                  context.settings().at_sender_id, context.sms_max_age())


# --- the jobs ---------------------------------------------------------------------------


def drain(budget: float | None = None) -> dict:
    """Send due SMS until none is due (RQ job). Returns counts per outcome."""
    connection = context.redis()
    try:
        return run_drain(sender(connection), budget=budget)
    except BaseException:
        # Let the next enqueue (or the tick) start a drain at once instead of
        # after the flag's TTL; RQ records this failure.
        try:
            connection.delete(keys.WAKE_KEY)
        except Exception:
            pass
        raise


def send_sms(message_id: int, connection: Redis | None = None) -> str:
    """Send one message (RQ job `sms-<id>`, the simple way); returns "sent",
    "retry", "failed", "held" (also: the circuit is open), "paused", "unknown",
    "dropped", "skipped" (not queued, or not due yet) or "missing"."""
    worker = sender(connection if connection is not None else context.redis())
    if worker.held() or not worker.allowance(1):
        log.info("sms %s: sending is on hold or paused; it stays queued", message_id)
        return "held"
    grant = worker.throttle.wait_for_one(time.monotonic() + keys.SMS_JOB_TIMEOUT / 2)
    if not grant.count:
        return "skipped"
    claim = worker.claim([int(message_id)])
    if not claim.sendable:
        worker.throttle.release(grant, 1)
        if message_id in claim.dropped:
            return "dropped"
        status = claim.skipped.get(message_id, "missing")
        if status != "missing":
            log.info("sms %s: already %s, nothing to do", message_id, status)
        return "missing" if status == "missing" else "skipped"
    claimed = claim.sendable[0]
    return worker.record([(claimed, worker.send(claimed))])[claimed.id]


def tick() -> str:
    """Periodic: wake a drain when something is due (retries coming due, the
    end of a hold or of the circuit's pause, a lost wake-up). Returns
    "held", "woke", "busy" or "idle"."""
    connection = context.redis()
    if connection.exists(keys.HOLD_KEY, keys.CIRCUIT_OPEN_KEY):
        return "held"
    if not connection.zrangebyscore(keys.DUE_KEY, "-inf", time.time(), start=0, num=1):
        return "idle"
    return "woke" if wake(connection) else "busy"


def release_hold(connection: Redis) -> bool:
    """End a hold now (after a top-up); True when there was one."""
    held = bool(connection.delete(keys.HOLD_KEY))
    wake(connection)
    return held


# --- the drain loop ---------------------------------------------------------------------


def run_drain(worker: Sender, *, budget: float | None = None, linger: float | None = None) -> dict:
    config = worker.config
    budget = config.budget if budget is None else budget
    linger = config.linger if linger is None else linger
    connection = worker.connection
    started = time.monotonic()
    deadline = started + budget
    counts: Counter[str] = Counter()
    inflight: dict[futures.Future, Claimed] = {}
    idle_since: float | None = None
    held, held_checked, wake_refreshed = worker.held(), started, started
    tripped = worker.circuit.state() == HALF_OPEN  # then only one probe at a time
    end = "empty"
    batch = max(1, config.concurrency // 4)
    pool = futures.ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="isoko-sms")
    try:
        first_done: float | None = None  # when the oldest unrecorded send finished
        while True:
            finished = [f for f in inflight if f.done()]
            now = time.monotonic()
            if finished:
                first_done = first_done or now
                # Record in batches too, but never keep a result waiting long.
                if len(finished) >= batch or len(finished) == len(inflight) or \
                        now - first_done >= RECORD_DELAY:
                    outcomes = worker.record([(inflight.pop(f), f.result()) for f in finished])
                    counts.update(outcomes.values())
                    held = held or "held" in outcomes.values() or "paused" in outcomes.values()
                    tripped = tripped and "sent" not in outcomes.values()  # a sent probe closes it
                    first_done = None
            if not held and now - held_checked >= HOLD_CHECK:
                held, held_checked = worker.held(), now
                tripped = worker.circuit.state() == HALF_OPEN
            if now - wake_refreshed >= WAKE_REFRESH:
                connection.set(keys.WAKE_KEY, "1", ex=keys.WAKE_TTL)
                wake_refreshed = now
            stopping = held or now >= deadline
            wait = POLL
            # Claim in batches (a quarter of the slots at least, unless idle):
            # one claim and one record transaction serve several sends.
            free = config.concurrency - len(inflight)
            if not stopping and tripped:
                free = 1 if not inflight and worker.due_ids(1) and worker.allowance(1) else 0
            if not stopping and free > 0 and (not inflight or free >= batch):
                ids = worker.due_ids(free)
                if ids:
                    idle_since = None
                    grant = worker.throttle.acquire(len(ids))
                    if grant.count:
                        claim = worker.claim(ids[:grant.count])
                        worker.throttle.release(grant, grant.count - len(claim.sendable))
                        counts.update(dropped=len(claim.dropped))
                        for claimed in claim.sendable:
                            inflight[pool.submit(worker.send, claimed)] = claimed
                        if (claim.sendable or claim.dropped) and len(inflight) < config.concurrency:
                            continue  # room left: take more at once
                    else:
                        wait = grant.wait
            if inflight:
                pending = [f for f in inflight if not f.done()]
                if first_done is not None:
                    wait = min(wait, max(0.0, first_done + RECORD_DELAY - time.monotonic()))
                if pending and wait > 0:
                    futures.wait(pending, timeout=wait, return_when=futures.FIRST_COMPLETED)
                continue
            if stopping:
                end = "held" if held else "budget"
                break
            if worker.due_ids(1):
                time.sleep(wait)  # due but throttled, or just rescored
                continue
            idle_since = idle_since or time.monotonic()
            upcoming = worker.next_due()
            if time.monotonic() - idle_since < linger or (
                    upcoming is not None and upcoming - time.time() <= linger
                    and time.monotonic() + (upcoming - time.time()) < deadline):
                time.sleep(POLL)
                continue
            # Nothing due: clear the flag, then look once more, so an id added
            # just before the flag went away is not left without a drain.
            connection.delete(keys.WAKE_KEY)
            if worker.due_ids(1) and connection.set(keys.WAKE_KEY, "1", nx=True, ex=keys.WAKE_TTL):
                idle_since = None
                continue
            break
    finally:
        pool.shutdown(wait=True)
        leftover = [(claimed, f.result()) for f, claimed in inflight.items() if f.done()]
        if leftover:  # only after an error above: try to record what did go out
            try:
                counts.update(worker.record(leftover).values())
            except Exception:
                log.exception("sms drain: %d finished sends not recorded; their rows stay "
                              "'sending' until the sweeper settles them", len(leftover))
    if end == "held":
        connection.delete(keys.WAKE_KEY)  # the tick wakes a drain when the hold ends
    elif end == "budget" and worker.due_ids(1):
        wake(connection, force=True)  # hand over to a fresh job
    counts["seconds"] = round(time.monotonic() - started, 3)
    log.info("sms drain ended (%s): %s", end, dict(counts))
    return dict(counts, end=end)


# -- waking a drain ------------------------------------------------------------

# RQ reads the server version (INFO) once per client when it enqueues. On a
# caller's pipeline no read is allowed; the value is only kept on the Job
# object in memory (RQ uses it for LPOS in get_job_position), so assume one.
_ASSUMED_SERVER_VERSION = (6, 2, 0)


def wake(connection: Redis, *, force: bool = False) -> bool:
    """Make sure a drain job is queued (when none is pending, or `force`).
    Returns True when this call enqueued one."""
    if force:
        connection.set(keys.WAKE_KEY, "1", ex=keys.WAKE_TTL)
    elif not connection.set(keys.WAKE_KEY, "1", nx=True, ex=keys.WAKE_TTL):
        return False
    enqueue_drain(connection)
    return True


def enqueue_drain(connection: Redis, pipeline: Pipeline | None = None) -> None:
    """Queue one `drain` job, on `pipeline` when given (then no read at all)."""
    sms_queue = keys.queue(connection)
    data = Queue.prepare_data(
        drain,
        job_id=f"sms-drain-{uuid.uuid4().hex[:16]}",
        timeout=keys.DRAIN_TIMEOUT,
        result_ttl=keys.SMS_RESULT_TTL,
        failure_ttl=keys.SMS_FAILURE_TTL,
        description="drain due SMS",
    )
    if pipeline is None:
        sms_queue.enqueue_many([data])
        return
    if sms_queue.redis_server_version is None:
        sms_queue.redis_server_version = _ASSUMED_SERVER_VERSION
    sms_queue.enqueue_many([data], pipeline=pipeline)
