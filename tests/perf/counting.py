"""Counters of what one hop costs: Redis round trips and SQL statements.

A Redis round trip is one write of commands to a server connection (a lone
command, or a whole pipeline): `Connection.send_packed_command` is called
once for each. SQL statements are counted by the engine's
`before_cursor_execute` event. Both count only inside `Costs.measure()`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from redis.connection import Connection
from sqlalchemy import event


@dataclass
class Cost:
    redis: int = 0
    sql: int = 0


class Costs:
    """Install with `Costs(monkeypatch, engine)`; read `measure()`'s Cost."""

    def __init__(self, monkeypatch, *engines):
        self._current: Cost | None = None
        self.statements: list[str] = []
        original = Connection.send_packed_command

        def counted(connection, command, check_health=True):
            if self._current is not None:
                self._current.redis += 1
            return original(connection, command, check_health)

        monkeypatch.setattr(Connection, "send_packed_command", counted)
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._on_sql)

    def _on_sql(self, _conn, _cursor, statement, *_args):
        if self._current is not None:
            self._current.sql += 1
            self.statements.append(statement.split("\n")[0][:120])

    @contextmanager
    def measure(self):
        self._current, self.statements = Cost(), []
        try:
            yield self._current
        finally:
            self._current = None
