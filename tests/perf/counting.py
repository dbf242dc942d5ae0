"""Counters of what one hop costs: Redis round trips and SQL statements.

A Redis round trip is one write of commands to a server connection (a lone
command, or a whole pipeline): `Connection.send_packed_command` is called
once for each. SQL statements are counted where they reach the driver:
every psycopg `Cursor.execute`/`executemany` on PostgreSQL, SQLAlchemy's
`before_cursor_execute` event on SQLite (whose cursor cannot be wrapped);
on PostgreSQL the event would miss `Database.read_one`, which sends its
statement past SQLAlchemy. Both count only inside `Costs.measure()`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
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
        for name in ("execute", "executemany"):
            driver = getattr(psycopg.Cursor, name)
            monkeypatch.setattr(psycopg.Cursor, name,
                                lambda cursor, query, *a, _d=driver, **k: self._on_sql(query) or _d(cursor, query, *a, **k))
        for engine in engines:
            if engine.dialect.name == "sqlite":
                event.listen(engine, "before_cursor_execute",
                             lambda _conn, _cursor, statement, *_args: self._on_sql(statement))

    def _on_sql(self, statement) -> None:
        if self._current is not None:
            self._current.sql += 1
            self.statements.append(str(statement).split("\n")[0][:120])

    @contextmanager
    def measure(self):
        self._current, self.statements = Cost(), []
        try:
            yield self._current
        finally:
            self._current = None
