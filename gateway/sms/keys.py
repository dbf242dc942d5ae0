"""Names of the SMS pipeline: RQ queues and their serializer, Redis keys,
job timeouts and TTLs; `queue()`, the RQ queue with that serializer, and
`enqueue_once`, the one-job-per-row enqueue the SMS, webhook and payment
jobs share."""
from __future__ import annotations

from datetime import timedelta

from redis import Redis
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
HOLD_KEY = "isoko:sms:hold"  # set (with a TTL) after a 405 InsufficientBalance or a 401/403
# The circuit (gateway.sms.circuit), shared by every worker.
CIRCUIT_FAILURES_KEY = "isoko:sms:circuit:failures"  # transient provider failures in a row
CIRCUIT_OPEN_KEY = "isoko:sms:circuit:open"  # set (TTL: the pause) while open
CIRCUIT_TRIPPED_KEY = "isoko:sms:circuit:tripped"  # set from opening until a send succeeds
CIRCUIT_PROBE_KEY = "isoko:sms:circuit:probe"  # the one probe in flight (TTL: one send)
RATE_KEY = "isoko:sms:rate:{sender}"  # sorted set: sends of the last second per sender ID
WAKE_TTL = 30  # seconds; a drain refreshes it, a lost one is replaced after this

DRAIN_TIMEOUT = 600  # seconds; a drain hands over to a new job after its budget (60 s)
SMS_JOB_TIMEOUT = 60  # seconds; one provider call (SDK timeout ~12 s) and the SQL around it
SMS_RESULT_TTL = 300  # the message row is the record, the job result is noise
SMS_FAILURE_TTL = int(timedelta(days=7).total_seconds())  # time to look into it



def sms_job_id(message_id: int) -> str:
    return f"sms-{int(message_id)}"


def queue(connection: Redis, name: str = SMS_QUEUE) -> Queue:
    """The RQ queue `name` on `connection`, with the project's serializer."""
    return Queue(name, connection=connection, serializer=SERIALIZER)


# A job in one of these states will still run: enqueueing again adds nothing.
PENDING_STATES = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED})


def enqueue_once(rq_queue: Queue, function, row_id: int, *, job_id: str, timeout: int, result_ttl: int,
                 failure_ttl: int, description: str) -> bool:
    """Queue `function(row_id)` as job `job_id` unless that job is still
    pending (a finished or failed one is replaced). True when queued."""
    existing = rq_queue.fetch_job(job_id)
    if existing is not None:
        if existing.get_status(refresh=False) in PENDING_STATES:
            return False
        existing.delete()
    rq_queue.enqueue_call(function, args=(int(row_id),), job_id=job_id, timeout=timeout,
                          result_ttl=result_ttl, failure_ttl=failure_ttl, description=description)
    return True
