"""Queue names and the helpers that enqueue jobs.

The web layer may import this module (and only this one from `workers`), so
it names jobs by dotted path instead of importing them: the job modules pull
in the database layer, which the web layer must not get through here.
Jobs take ids and plain values, serialised as JSON.
"""
from __future__ import annotations

from datetime import timedelta

from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.serializers import JSONSerializer

SMS_QUEUE = "isoko-sms"
ALL_QUEUES: tuple[str, ...] = (SMS_QUEUE,)

# Workers must deserialise with the serializer the queues serialise with.
SERIALIZER = JSONSerializer

SMS_JOB = "workers.sms.send_sms"
SMS_JOB_TIMEOUT = 30  # seconds; one provider call with its own shorter timeout
SMS_RESULT_TTL = 300  # the message row is the record, the job result is noise
SMS_FAILURE_TTL = int(timedelta(days=7).total_seconds())  # time to look into it

# A job in one of these states will still run: enqueueing again adds nothing.
_PENDING = frozenset(
    {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
)


def sms_job_id(message_id: int) -> str:
    return f"sms-{int(message_id)}"


def queue(connection: Redis, name: str = SMS_QUEUE) -> Queue:
    """The RQ queue `name` on `connection`, with the project's serializer."""
    return Queue(name, connection=connection, serializer=SERIALIZER)


def enqueue_sms(connection: Redis, message_id: int) -> None:
    """Ask a worker to send the `Message` row `message_id` (commit it first).

    The job id is `sms-<id>`: while such a job is still pending this does
    nothing; a finished or failed one is replaced. Two truly simultaneous
    calls can still both enqueue (no Lua on the embedded store, so no atomic
    check-and-push); the job is idempotent, so the SMS still goes once.
    """
    sms_queue = queue(connection)
    job_id = sms_job_id(message_id)
    existing = sms_queue.fetch_job(job_id)
    if existing is not None:
        if existing.get_status(refresh=False) in _PENDING:
            return
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
