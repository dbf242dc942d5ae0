"""The Redis connection: a real server, or the embedded in-process store.

The embedded store (fakeredis) lets `gateway serve` run with no Redis server;
it lives in this process only, so it is for single-process use.
"""
from __future__ import annotations

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def connect(url: str | None) -> redis.Redis:
    """A client for `url`, or for a fresh embedded store when `url` is None."""
    if url is None:
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    # Short timeouts and one retry: a hop must be answered within the
    # provider's ~10 s even while Redis is unreachable (it then gets an END).
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                retry=Retry(NoBackoff(), 1), health_check_interval=30)
