"""Which phones have a producer: a Redis set, so that the first hop of a
phone never seen says "new" without SQL.

A cached profile (`gateway.ussd.profiles`) greets a registered caller
without SQL; a miss used to mean a SELECT, and most misses are phones with
no producer at all (a first dial, a buyer, a curious neighbour). This set
holds the E.164 phone of every registered producer and one more member,
COMPLETE, written only once a fill from SQL has added every phone. The
begin script (`SessionStore.begin`) asks it on a first hop with no cached
profile: with COMPLETE present and the phone absent, the phone has no
producer and `identify` answers "new" from Redis alone. Without COMPLETE
(a new deployment, a flushed or failed-over Redis, the key evicted: it goes
whole, with its marker) every miss reads SQL as before, so a partial set
is never believed.

Who keeps it whole: a registration adds its phone on the pipeline that
saves the session, after the commit (as the profile is cached), and so does
a SQL lookup that finds a producer; the periodic task `refresh_job`
(every minute, `gateway.worker.periodic`) fills the set again from SQL when COMPLETE is
missing or the set holds fewer phones than the producers table. A phone
missed in between (a commit whose Redis write then failed, a producer row
written behind the gateway's back) is taken for new until that refresh:
its caller walks registration again, and `register_producer` hands back
the producer already there, unchanged. Producers are never deleted, so
the set only grows and a count is enough to see it is short.
"""
from __future__ import annotations

import logging

from gateway.core import jobs as context
from gateway.core.db import Database
from gateway.market import service as market

log = logging.getLogger(__name__)

KEY = "isoko:ussd:registered"
# Not a phone (E.164 has no "!"): the set is whole.
COMPLETE = "!"
BATCH = 1000


def add(pipe, phone: str) -> None:
    """Add `phone` to the set on a Redis pipeline (or client)."""
    pipe.sadd(KEY, phone)


def refresh(db: Database, client) -> int:
    """Fill the set from SQL when it is not known whole: COMPLETE missing,
    or fewer phones than producers. Returns the phones written (0 when the
    set was whole). Idempotent; safe beside registrations adding theirs."""
    with db.session() as s:
        producers = market.producer_count(s)
        pipe = client.pipeline(transaction=False)
        pipe.sismember(KEY, COMPLETE)
        pipe.scard(KEY)
        whole, members = pipe.execute()
        if whole and members - 1 >= producers:
            return 0
        written = 0
        for phones in market.producer_phones(s, BATCH):
            client.sadd(KEY, *phones)
            written += len(phones)
    client.sadd(KEY, COMPLETE)  # only now: every phone SQL held is in
    log.info("registered phones: set filled from SQL (%d phones)", written)
    return written


def refresh_job() -> int:
    """The periodic task (`gateway.worker.periodic`): `refresh` on the job's
    database and Redis."""
    return refresh(context.database(), context.redis())
