"""The Redis connection: a real server, or the embedded in-process store.

The embedded store (fakeredis) lets `gateway serve` run with no Redis server;
it lives in this process only, so it is for single-process use.
"""
from __future__ import annotations

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def connect(url: str | None, *, connect_timeout: float = 1.0,
            socket_timeout: float = 1.0) -> redis.Redis:
    """A client for `url`, or for a fresh embedded store when `url` is None.
    The timeouts (seconds) bound every connect and every reply; the web
    passes its `TimeBounds` (REDIS_CONNECT_TIMEOUT_MS, REDIS_SOCKET_TIMEOUT_MS)."""
    if url is None:
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    # Short timeouts and one retry: a hop must be answered within its budget
    # even while Redis is unreachable or frozen (it then gets an END).
    return redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout,
                                retry=Retry(NoBackoff(), 1), health_check_interval=30)
