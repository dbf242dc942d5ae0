"""A per-sender-ID rate limit shared by every worker, in Redis.

A sliding one-second log: each send adds an entry (scored by its time) to
`isoko:sms:rate:<sender>`. In one MULTI/EXEC a caller drops the entries
older than a second, adds its own and counts; entries over the limit are
taken back at once. An entry is only kept when, at the moment it was
counted, the last second held at most `rate` entries, so no one-second
window ever holds more than `rate` granted sends, whatever the number of
workers. (Concurrent callers can refuse each other a little too eagerly;
never too little.) MULTI/EXEC only, no Lua: it works on the embedded store.

Times are the workers' clocks: workers on several hosts need NTP.
"""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field

from redis import Redis

from gateway.sms.keys import RATE_KEY

WINDOW = 1.0  # seconds


@dataclass
class Grant:
    """The slots one call got (`members` are their entries) and, when it got
    fewer than asked, how long until the oldest entry leaves the window."""

    members: list[str] = field(default_factory=list)
    wait: float = 0.0

    @property
    def count(self) -> int:
        return len(self.members)


class Throttle:
    """At most `rate` sends per second for one sender ID."""

    def __init__(self, connection: Redis, sender: str | None, rate: int) -> None:
        self.connection = connection
        self.key = RATE_KEY.format(sender=sender or "default")
        self.rate = int(rate)

    def acquire(self, wanted: int) -> Grant:
        """Take up to `wanted` slots now (never waits)."""
        if wanted <= 0:
            return Grant()
        now = time.time()
        token = uuid.uuid4().hex[:12]
        members = [f"{now:.6f}:{token}:{i}" for i in range(wanted)]
        pipe = self.connection.pipeline(transaction=True)
        pipe.zremrangebyscore(self.key, "-inf", now - WINDOW)
        pipe.zadd(self.key, dict.fromkeys(members, now))
        pipe.zcard(self.key)
        pipe.pexpire(self.key, int(WINDOW * 2000))
        count = pipe.execute()[2]
        excess = min(max(0, count - self.rate), wanted)
        if not excess:
            return Grant(members)
        refused, granted = members[wanted - excess:], members[: wanted - excess]
        pipe = self.connection.pipeline(transaction=False)
        pipe.zrem(self.key, *refused)
        pipe.zrange(self.key, 0, 0, withscores=True)
        _, oldest = pipe.execute()
        wait = (oldest[0][1] + WINDOW - now) if oldest else WINDOW / self.rate
        # A little jitter: workers refused together do not all come back at
        # the same instant, where the quickest would win every time.
        wait += random.uniform(0, 0.02)
        return Grant(granted, min(WINDOW, max(0.001, wait)))

    def release(self, grant: Grant, unused: int) -> None:
        """Give back `unused` slots of `grant` (rows that could not be claimed)."""
        if unused <= 0 or not grant.members:
            return
        given_back, grant.members = grant.members[-unused:], grant.members[:-unused]
        self.connection.zrem(self.key, *given_back)

    def wait_for_one(self, deadline: float) -> Grant:
        """Block until one slot is free (or `deadline`, time.monotonic(), passes)."""
        while True:
            grant = self.acquire(1)
            if grant.count or time.monotonic() >= deadline:
                return grant
            time.sleep(min(grant.wait, max(0.0, deadline - time.monotonic())))
