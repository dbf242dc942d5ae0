"""Queue names, Redis keys and the helpers that enqueue jobs.

This is the one way to enqueue SMS work. Jobs are referenced as functions
(`gateway.sms.jobs`) and take ids and plain values, serialised as JSON; the
names and keys live in `gateway.sms.keys` and are re-exported here.

How an SMS gets sent (details in `gateway.sms.jobs`):

1. The caller commits a `Message` row (status queued), then calls
   `enqueue_sms(redis, message_id)`.
2. That adds the id to the sorted set `isoko:sms:due` (score: when it is due)
   and makes sure one *drain* job is queued: the flag `isoko:sms:wake` is set
   with SET NX, and whoever sets it enqueues the `drain` job.
3. A drain claims due rows and sends them concurrently through the provider,
   at most SMS_RATE_PER_SECOND per sender ID across all workers, until the
   set has nothing due; it then clears the flag and looks once more.

Redis holds nothing that cannot be rebuilt: the sweeper re-adds every queued
row of SQL to the due set.
"""
from __future__ import annotations

import time

from redis import Redis
from redis.client import Pipeline

from gateway.sms.jobs import enqueue_drain, send_sms, wake
from gateway.sms.keys import (
    ALL_QUEUES,
    DRAIN_TIMEOUT,
    DUE_KEY,
    HOLD_KEY,
    PERIODIC_QUEUE,
    RATE_KEY,
    SERIALIZER,
    SMS_FAILURE_TTL,
    SMS_JOB_TIMEOUT,
    SMS_QUEUE,
    SMS_RESULT_TTL,
    WAKE_KEY,
    WAKE_TTL,
    enqueue_once,
    queue,
    sms_job_id,
)

__all__ = [  # the pipeline's names come along, so callers need this one module
    "ALL_QUEUES", "DRAIN_TIMEOUT", "DUE_KEY", "HOLD_KEY", "PERIODIC_QUEUE", "RATE_KEY", "SERIALIZER",
    "SMS_FAILURE_TTL", "SMS_JOB_TIMEOUT", "SMS_QUEUE", "SMS_RESULT_TTL", "WAKE_KEY", "WAKE_TTL",
    "enqueue_many", "enqueue_send_job", "enqueue_sms", "queue", "sms_job_id", "wake",
]


def enqueue_sms(connection: Redis, message_id: int, pipeline: Pipeline | None = None) -> None:
    """Ask a worker to send the `Message` row `message_id` (commit it first).

    Without `pipeline`: one round trip, two when no drain job is pending.
    With `pipeline` (e.g. the USSD hop's session write): only adds write
    commands to it and never talks to Redis itself; the caller's `execute()`
    carries them. That path always adds a drain job (it cannot read whether
    one is pending); a spare drain finds nothing and ends at once.

    Calling it again for the same id is harmless: the id is in the due set
    once, and the drain sends a row only while it is `queued`.
    """
    member = {str(int(message_id)): time.time()}
    if pipeline is not None:
        # NX: a message waiting for a retry keeps its later due time.
        pipeline.zadd(DUE_KEY, member, nx=True)
        pipeline.set(WAKE_KEY, "1", ex=WAKE_TTL)
        enqueue_drain(connection, pipeline)
        return
    pipe = connection.pipeline(transaction=False)
    pipe.zadd(DUE_KEY, member, nx=True)
    pipe.set(WAKE_KEY, "1", nx=True, ex=WAKE_TTL)
    _, woken = pipe.execute()
    if woken:
        enqueue_drain(connection)


def enqueue_many(connection: Redis, message_ids, chunk: int = 1000) -> int:
    """`enqueue_sms` for many committed rows at once (a broadcast, a price
    alert to every subscriber): the ids join the due set in one ZADD per
    `chunk`, and one drain is woken for all of them, so 5,000 messages cost
    a handful of round trips. They go out through the same drain, at the
    same throttled rate, as any other SMS. Returns how many ids were given."""
    ids = [int(i) for i in message_ids]
    now = time.time()
    for start in range(0, len(ids), chunk):
        connection.zadd(DUE_KEY, {str(i): now for i in ids[start:start + chunk]}, nx=True)
    if ids and connection.set(WAKE_KEY, "1", nx=True, ex=WAKE_TTL):
        enqueue_drain(connection)
    return len(ids)


def enqueue_send_job(connection: Redis, message_id: int) -> bool:
    """The simple way: one `send_sms(message_id)` job per message, id
    `sms-<id>` (not added while such a job is pending). Slower than the
    drain (one provider call at a time); kept for comparison (bench/sms.py)
    and for jobs already queued by older code. Returns True when enqueued."""
    return enqueue_once(queue(connection), send_sms, message_id, job_id=sms_job_id(message_id),
                        timeout=SMS_JOB_TIMEOUT, result_ttl=SMS_RESULT_TTL, failure_ttl=SMS_FAILURE_TTL,
                        description=f"send_sms({int(message_id)})")
