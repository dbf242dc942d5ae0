"""Names of the SMS pipeline: RQ queues and their serializer, Redis keys,
job timeouts and TTLs, and `queue()`, the RQ queue with that serializer.
Plain values; no IO."""
from __future__ import annotations

from datetime import timedelta

from redis import Redis
from rq import Queue
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

DRAIN_TIMEOUT = 600  # seconds; a drain hands over to a new job after its budget (60 s)
SMS_JOB_TIMEOUT = 60  # seconds; one provider call (SDK timeout ~12 s) and the SQL around it
SMS_RESULT_TTL = 300  # the message row is the record, the job result is noise
SMS_FAILURE_TTL = int(timedelta(days=7).total_seconds())  # time to look into it



def sms_job_id(message_id: int) -> str:
    return f"sms-{int(message_id)}"


def queue(connection: Redis, name: str = SMS_QUEUE) -> Queue:
    """The RQ queue `name` on `connection`, with the project's serializer."""
    return Queue(name, connection=connection, serializer=SERIALIZER)
