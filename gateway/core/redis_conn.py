"""The Redis connection: a real server, a master found through Sentinel, or
the embedded in-process store.

The embedded store (fakeredis) lets `gateway serve` run with no Redis server;
it lives in this process only, so it is for single-process use.
"""
from __future__ import annotations

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

# A sentinel that does not answer within this is skipped for the next one.
SENTINEL_TIMEOUT = 0.5


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


def connect_sentinel(sentinels, master: str, url: str | None = None, *, connect_timeout: float = 1.0,
                     socket_timeout: float = 1.0) -> redis.Redis:
    """A client for the master the `sentinels` ((host, port), ...) name
    `master`. Its pool asks them again whenever a connection fails or finds
    a demoted (read-only) server, so a process follows a failover by
    itself; hops in between fail fast (short timeouts, one retry) and get
    the polite END. `url`, when given, adds the database number and password."""
    options = redis.connection.parse_url(url) if url else {}
    sentinel = Sentinel(list(sentinels), socket_timeout=SENTINEL_TIMEOUT,
                        socket_connect_timeout=SENTINEL_TIMEOUT)
    return sentinel.master_for(master, db=options.get("db", 0), password=options.get("password"),
                               username=options.get("username"), socket_timeout=socket_timeout,
                               socket_connect_timeout=connect_timeout, retry=Retry(NoBackoff(), 1),
                               health_check_interval=30)


def client_for(settings, *, connect_timeout: float = 1.0, socket_timeout: float = 1.0) -> redis.Redis:
    """The Redis client `settings` ask for: through Sentinel when
    REDIS_SENTINELS is set, else REDIS_URL, else the embedded store; the
    timeouts (seconds) bound every connect and every reply."""
    timeouts = {"connect_timeout": connect_timeout, "socket_timeout": socket_timeout}
    if settings.redis_sentinels:
        return connect_sentinel(settings.redis_sentinels, settings.redis_sentinel_master,
                                settings.redis_url, **timeouts)
    return connect(settings.redis_url, **timeouts)
