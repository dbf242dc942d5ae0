"""The wants' jobs: matching after a commit, expiry and catch-up every while.

`match_new_listing(id)` and `match_new_want(id)` run on the `isoko-wants`
queue (never inside a USSD hop): each opens its own transaction, runs
`gateway.market.matching`, commits, then queues the SMS it made. Both are
idempotent (the pairs are unique rows; a want is matched once), so a job
queued twice, or run again after a crash, sends nothing twice.

The periodic `tick()` expires wants past their date and queues the matching
of any open want whose job Redis lost (`matched_at` still empty a minute
after it was posted), a bounded batch at a time.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from redis import Redis
from redis.client import Pipeline
from rq import Queue
from sqlalchemy import select

from gateway.core import jobs as context
from gateway.core.models import utcnow
from gateway.market import matching, wants
from gateway.market.want_models import Want, WantStatus
from gateway.sms import keys as sms_keys
from gateway.sms import queue as queues

log = logging.getLogger(__name__)

WANTS_QUEUE = "isoko-wants"
JOB_TIMEOUT = 60  # seconds: a few SQL statements
RESULT_TTL = 300  # the pairs and messages are the record
FAILURE_TTL = int(timedelta(days=7).total_seconds())
CATCH_UP_AFTER = timedelta(minutes=1)  # a want's own job had this long to run
CATCH_UP_BATCH = 200
# RQ reads the server version once per client when it enqueues; on a
# caller's pipeline no read is allowed, so assume one (as the SMS drain does).
_ASSUMED_SERVER_VERSION = (6, 2, 0)


def match_new_listing(listing_id: int, connection: Redis | None = None) -> int:
    """Tell the buyers whose open wants the listing matches; returns the SMS
    queued (on `connection`, by default the running job's Redis)."""
    return _run(matching.match_listing, listing_id, connection)


def match_new_want(want_id: int, connection: Redis | None = None) -> int:
    """Tell the sellers whose listings the want matches, and the buyer the
    cheapest; returns the SMS queued."""
    return _run(matching.match_want, want_id, connection)


def _run(match, row_id: int, connection: Redis | None) -> int:
    service_code = context.settings().ussd_service_code
    with context.database().session() as s:
        ids = [message.id for message in match(s, int(row_id), service_code)]
    connection = connection or context.redis()
    for message_id in ids:
        queues.enqueue_sms(connection, message_id)
    return len(ids)


def enqueue_listing(connection: Redis, listing_id: int, pipeline: Pipeline | None = None) -> bool:
    """Queue `match_new_listing(listing_id)` (commit the listing first)."""
    return _enqueue(connection, match_new_listing, listing_id, f"want-listing-{int(listing_id)}",
                    f"match listing {int(listing_id)}", pipeline)


def enqueue_want(connection: Redis, want_id: int, pipeline: Pipeline | None = None) -> bool:
    """Queue `match_new_want(want_id)` (commit the want first)."""
    return _enqueue(connection, match_new_want, want_id, f"want-{int(want_id)}",
                    f"match want {int(want_id)}", pipeline)


def _enqueue(connection: Redis, function, row_id: int, job_id: str, description: str,
             pipeline: Pipeline | None) -> bool:
    """Without `pipeline`: queued unless that job is pending (True when
    queued). On `pipeline` (the USSD hop's session write) it only adds
    commands to it and cannot tell whether one is pending: a second run
    finds nothing new to send. True."""
    wants_queue = sms_keys.queue(connection, WANTS_QUEUE)
    if pipeline is None:
        return sms_keys.enqueue_once(wants_queue, function, row_id, job_id=job_id,
                                     timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL,
                                     failure_ttl=FAILURE_TTL, description=description)
    data = Queue.prepare_data(function, args=(int(row_id),), job_id=job_id, timeout=JOB_TIMEOUT,
                              result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                              description=description)
    if wants_queue.redis_server_version is None:
        wants_queue.redis_server_version = _ASSUMED_SERVER_VERSION
    wants_queue.enqueue_many([data], pipeline=pipeline)
    return True


def tick(connection: Redis | None = None) -> int:
    """Expire wants past their date; queue the matching of open wants never
    matched (their job lost). Idempotent; returns how many were queued."""
    with context.database().session() as s:
        expired = wants.expire_due(s)
        stale = list(s.scalars(
            select(Want.id).where(Want.status == WantStatus.OPEN, Want.matched_at.is_(None),
                                  Want.created_at <= utcnow() - CATCH_UP_AFTER)
            .order_by(Want.id).limit(CATCH_UP_BATCH)))
    if expired:
        log.info("%d wants expired", expired)
    connection = connection or context.redis()
    return sum(enqueue_want(connection, want_id) for want_id in stale)
