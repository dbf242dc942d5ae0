"""Time bounds: how long a hop may take and how long each blocking call may
wait, read with the other settings by `settings`.

The provider waits about 10 s for a USSD reply, then drops the session with
no message. The hop's budget (`USSD_HOP_BUDGET_SECONDS`, default 5) is what
the gateway promises instead: a reply within it, an END when the work could
not finish (`gateway.ussd.budget`). The timeouts below bound each call the
hop makes, so a slow or frozen server ends in an error the hop can answer,
and a stuck call frees its connection soon after the reply went out:

- PostgreSQL: `connect_timeout` (libpq, whole seconds, covers the start-up
  exchange too), `statement_timeout` and `lock_timeout` (server-side; they
  cannot fire while the server itself is frozen, which is why the budget
  is enforced by the caller too). SQLite ignores them: it has its
  busy_timeout.
- Redis: connect and read timeouts on the web's client.

The worker's own database (`gateway.core.jobs`) is not bounded this way: its
jobs are not answered to anyone within seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HOP_BUDGET_SECONDS = 5


@dataclass(frozen=True)
class TimeBounds:
    """The time settings; every field has the default a deployment needs."""

    # USSD_HOP_BUDGET_SECONDS: the longest a hop takes to answer, whatever Redis or SQL do.
    hop_budget_seconds: int = DEFAULT_HOP_BUDGET_SECONDS
    # DB_CONNECT_TIMEOUT_SECONDS: libpq's connect_timeout (it treats 1 as 2).
    db_connect_timeout_seconds: int = 2
    # DB_STATEMENT_TIMEOUT_MS / DB_LOCK_TIMEOUT_MS: per statement, per lock wait; 0 = none.
    db_statement_timeout_ms: int = 3000
    db_lock_timeout_ms: int = 2000
    # REDIS_CONNECT_TIMEOUT_MS / REDIS_SOCKET_TIMEOUT_MS: the web's Redis client.
    redis_connect_timeout_ms: int = 1000
    redis_socket_timeout_ms: int = 1000

    def redis_round_trip_worst(self) -> float:
        """Seconds one Redis round trip of the web can block at worst: a read
        timeout, then its one retry reconnecting and timing out again."""
        return (2 * self.redis_socket_timeout_ms + self.redis_connect_timeout_ms) / 1000

    def pg_connect_args(self) -> dict[str, object]:
        """What a psycopg connection is opened with so these bounds hold."""
        options = (f"-c statement_timeout={self.db_statement_timeout_ms} "
                   f"-c lock_timeout={self.db_lock_timeout_ms}")
        return {"connect_timeout": self.db_connect_timeout_seconds, "options": options}


def read(reader) -> TimeBounds:
    """The time bounds from `reader` (the settings' `_Reader`), every
    problem recorded there. A hop's budget stays under the provider's ~10 s."""
    return TimeBounds(
        hop_budget_seconds=reader.integer("USSD_HOP_BUDGET_SECONDS", DEFAULT_HOP_BUDGET_SECONDS, 1, 9),
        db_connect_timeout_seconds=reader.integer("DB_CONNECT_TIMEOUT_SECONDS", 2, 1, 30),
        db_statement_timeout_ms=reader.integer("DB_STATEMENT_TIMEOUT_MS", 3000, 0, 3_600_000),
        db_lock_timeout_ms=reader.integer("DB_LOCK_TIMEOUT_MS", 2000, 0, 3_600_000),
        redis_connect_timeout_ms=reader.integer("REDIS_CONNECT_TIMEOUT_MS", 1000, 50, 10_000),
        redis_socket_timeout_ms=reader.integer("REDIS_SOCKET_TIMEOUT_MS", 1000, 50, 10_000),
    )
