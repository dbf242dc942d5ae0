"""The Redis connection: a real server, or the embedded in-process store.

The embedded store (fakeredis) lets `gateway serve` run with no Redis server;
it lives in this process only, so it is for single-process use.
"""
from __future__ import annotations

import fakeredis
import redis


def connect(url: str | None) -> redis.Redis:
    """A client for `url`, or for a fresh embedded store when `url` is None."""
    if url is None:
        return fakeredis.FakeRedis(server=fakeredis.FakeServer())
    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                health_check_interval=30)
