"""Queue names, Redis keys and the helpers that enqueue jobs.

The web layer may import this module (and only this one from `workers`), so
it names jobs by dotted path instead of importing them: the job modules pull
in the database layer, which the web layer must not get through here.
Jobs take ids and plain values, serialised as JSON.

How an SMS gets sent (details in `workers.sms`):

1. The caller commits a `Message` row (status queued), then calls
   `enqueue_sms(redis, message_id)`.
2. That adds the id to the sorted set `isoko:sms:due` (score: when it is due)
   and makes sure one *drain* job is queued: the flag `isoko:sms:wake` is set
   with SET NX, and whoever sets it enqueues `workers.sms.drain`.
3. A drain claims due rows and sends them concurrently through the provider,
   at most SMS_RATE_PER_SECOND per sender ID across all workers, until the
   set has nothing due; it then clears the flag and looks once more.

Redis holds nothing that cannot be rebuilt: the sweeper re-adds every queued
row of SQL to the due set.
"""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

SMS_QUEUE = "isoko-sms"
PERIODIC_QUEUE = "isoko-periodic"
ALL_QUEUES: tuple[str, ...] = (SMS_QUEUE, PERIODIC_QUEUE)

# Workers must deserialise with the serializer the queues serialise with.
SERIALIZER = JSONSerializer

# Redis keys of the SMS pipeline.
DUE_KEY = "isoko:sms:due"  # sorted set: message id -> when it is due (epoch seconds)
WAKE_KEY = "isoko:sms:wake"  # set while a drain job is queued or running
HOLD_KEY = "isoko:sms:hold"  # set (with a TTL) after a 405 InsufficientBalance
RATE_KEY = "isoko:sms:rate:{sender}"  # sorted set: sends of the last second per sender ID
WAKE_TTL = 30  # seconds; a drain refreshes it, a lost one is replaced after this

DRAIN_JOB = "gateway.sms.jobs.drain"
DRAIN_TIMEOUT = 600  # seconds; a drain hands over to a new job after its budget (60 s)
SMS_JOB = "gateway.sms.jobs.send_sms"  # one message per job: the simple, slow way
SMS_JOB_TIMEOUT = 60  # seconds; one provider call (SDK timeout ~12 s) and the SQL around it
SMS_RESULT_TTL = 300  # the message row is the record, the job result is noise
SMS_FAILURE_TTL = int(timedelta(days=7).total_seconds())  # time to look into it

# RQ reads the server version (INFO) once per client when it enqueues. On a
# caller's pipeline no read is allowed; the value is only kept on the Job
# object in memory (RQ uses it for LPOS in get_job_position), so assume one.
_ASSUMED_SERVER_VERSION = (6, 2, 0)

# A job in one of these states will still run: enqueueing again adds nothing.
_PENDING = frozenset(
    {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
)


def sms_job_id(message_id: int) -> str:
    return f"sms-{int(message_id)}"


def queue(connection: Redis, name: str = SMS_QUEUE) -> Queue:
    """The RQ queue `name` on `connection`, with the project's serializer."""
    return Queue(name, connection=connection, serializer=SERIALIZER)


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
        _enqueue_drain(connection, pipeline)
        return
    pipe = connection.pipeline(transaction=False)
    pipe.zadd(DUE_KEY, member, nx=True)
    pipe.set(WAKE_KEY, "1", nx=True, ex=WAKE_TTL)
    _, woken = pipe.execute()
    if woken:
        _enqueue_drain(connection)


def wake(connection: Redis, *, force: bool = False) -> bool:
    """Make sure a drain job is queued (when none is pending, or `force`).
    Returns True when this call enqueued one."""
    if force:
        connection.set(WAKE_KEY, "1", ex=WAKE_TTL)
    elif not connection.set(WAKE_KEY, "1", nx=True, ex=WAKE_TTL):
        return False
    _enqueue_drain(connection)
    return True


def _enqueue_drain(connection: Redis, pipeline: Pipeline | None = None) -> None:
    sms_queue = queue(connection)
    data = Queue.prepare_data(
        DRAIN_JOB,
        job_id=f"sms-drain-{uuid.uuid4().hex[:16]}",
        timeout=DRAIN_TIMEOUT,
        result_ttl=SMS_RESULT_TTL,
        failure_ttl=SMS_FAILURE_TTL,
        description="drain due SMS",
    )
    if pipeline is None:
        sms_queue.enqueue_many([data])
        return
    if sms_queue.redis_server_version is None:
        sms_queue.redis_server_version = _ASSUMED_SERVER_VERSION
    sms_queue.enqueue_many([data], pipeline=pipeline)


def enqueue_send_job(connection: Redis, message_id: int) -> bool:
    """The simple way: one `send_sms(message_id)` job per message, id
    `sms-<id>` (not added while such a job is pending). Slower than the
    drain (one provider call at a time); kept for comparison (bench/sms.py)
    and for jobs already queued by older code. Returns True when enqueued."""
    sms_queue = queue(connection)
    job_id = sms_job_id(message_id)
    existing = sms_queue.fetch_job(job_id)
    if existing is not None:
        if existing.get_status(refresh=False) in _PENDING:
            return False
        existing.delete()
    sms_queue.enqueue_call(
        SMS_JOB,
        args=(int(message_id),),
        job_id=job_id,
        timeout=SMS_JOB_TIMEOUT,
        result_ttl=SMS_RESULT_TTL,
        failure_ttl=SMS_FAILURE_TTL,
        description=f"send_sms({int(message_id)})",
    )
    return True
