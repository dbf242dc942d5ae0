"""The SQL database: one engine, one session factory, migrations run from code.

`Database(url)` is cheap (it builds the engine object and opens nothing); the
first connection is made by the first session, `ping` or `upgrade`. SQLite is
the zero-setup default, PostgreSQL the production store; both get the same
schema from the Alembic revisions shipped in `gateway/migrations`.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config  # imported here: only migrations need it
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import Executable

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Arbitrary constant: PostgreSQL advisory lock key serialising migrations.
_MIGRATION_LOCK_KEY = 0x150C0

# How long a SQLite writer waits for the lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

# A pooled PostgreSQL connection idle this long is pinged before use (see
# `_ping_when_idle`); one in use more recently than that is not.
PING_AFTER_IDLE_SECONDS = 5.0


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, mapping `postgres://` and bare `postgresql://` to psycopg 3.

    psycopg2 is not installed; hosting platforms still hand out `postgres://`.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@dataclass(frozen=True)
class PoolLimits:
    """A server database's connection pool in one process: `size` kept open,
    `overflow` more opened under load, a checkout waits `timeout` seconds at
    most (then raises, and the hop answers its polite END). Defaults fit
    gunicorn's 2 workers x 4 threads: a thread holds one connection per hop."""

    size: int = 4
    overflow: int = 2
    timeout: float = 3.0


def pool_limits(settings) -> PoolLimits:
    """The pool `Settings` ask for (DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_TIMEOUT)."""
    return PoolLimits(settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout)


def build_engine(url: str | URL, pool: PoolLimits | None = None,
                 pg_connect_args: dict[str, Any] | None = None) -> Engine:
    """Create (without connecting) an engine tuned for the URL's backend.

    `pool` bounds a server database's connections in this process;
    `pg_connect_args` (PostgreSQL only; SQLite ignores it) is what every
    connection is opened with: `TimeBounds.pg_connect_args()`, the connect,
    statement and lock timeouts that keep a hop within its budget."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    engine = create_engine(parsed, connect_args=_pg_args(parsed, pg_connect_args),
                           **_pool_options(pool or PoolLimits()))
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle past
    PING_AFTER_IDLE_SECONDS: SQLAlchemy's `pool_pre_ping` pings on every
    checkout, a round trip as long as a hop's own lookup. A connection the
    server closed while idle (a restart overnight, an idle timeout) is
    replaced before the caller sees it, as with pre-ping. One in use moments
    ago that died since fails its statement: SQLAlchemy sees the disconnect,
    drops every connection older than it, and only that statement's caller
    gets the error (a hop's polite END) once per server restart."""

    def fresh(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as gone:
            raise DisconnectionError() from gone  # the pool retries on a new connection

    event.listen(engine, "connect", fresh)
    event.listen(engine, "checkin", fresh)
    event.listen(engine, "checkout", checkout)


def _pool_options(pool: PoolLimits) -> dict[str, Any]:
    # A bounded pool: N processes never open more than N x (size + overflow)
    # connections, whatever the traffic, so max_connections can be sized.
    return {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout}


def _pg_args(url: URL, extra: dict[str, Any] | None) -> dict[str, Any]:
    """`extra` for psycopg, its `options` appended to the URL's own (a
    connect argument replaces the URL's, and the URL's may set search_path)."""
    args = dict(extra or {})
    given = url.query.get("options")
    if isinstance(given, str) and "options" in args:
        args["options"] = f"{given} {args['options']}"
    return args


def _sqlite_engine(url: URL) -> Engine:
    kwargs: dict[str, Any] = {
        # Sessions move between the web threads and the in-process worker.
        # isolation_level=None turns off pysqlite's own transaction handling
        # (it breaks SAVEPOINT); the "begin" listener below opens ours.
        "connect_args": {"check_same_thread": False, "isolation_level": None},
    }
    if url.database in (None, "", ":memory:"):
        # One shared connection, or every pooled connection would get its own
        # empty in-memory database (so: tests and single-threaded use only).
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers do not block the writer (in-memory databases ignore
        # it). Foreign keys are off by default in SQLite.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # IMMEDIATE: take the write lock when the transaction starts. With a
    # deferred BEGIN, two transactions that read and then write (a USSD hop
    # creating a listing, the worker marking an SMS sent) can both read, and
    # the second to write fails at once with "database is locked" (a stale
    # snapshot cannot be upgraded; busy_timeout does not help). Serialising
    # transactions costs little at SQLite's scale: each lasts milliseconds.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(connection: Any = None, url: str | None = None) -> Any:
    """An Alembic `Config` for the shipped migrations, built without an ini file.

    `env.py` uses `connection` when given (attributes["connection"]), else
    `url` (the `sqlalchemy.url` main option).
    """

    config = Config()
    # ConfigParser interpolates "%"; a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Database:
    """An engine and a session factory for one database URL.

    `info` is copied into every new session's `Session.info`: how the
    composition root hands session-scoped services to code that only gets a
    session (the published SMS texts, `gateway.sms.texts.use_published`).
    """

    def __init__(self, url: str, pool: PoolLimits | None = None, *,
                 pg_connect_args: dict[str, Any] | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = build_engine(self.url, pool, pg_connect_args)
        self.info: dict[str, object] = {}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=self.info)
        # Reads that need no transaction (one statement each): no BEGIN or
        # COMMIT round trip. SQLite's single shared connection stays as it is.
        self._reads = (self.engine if self.dialect == "sqlite"
                       else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self._compiled: dict[Executable, tuple] = {}  # read_one's statements, as the driver gets them

    @property
    def dialect(self) -> str:
        """The backend name: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends normally,
        rolled back (and the exception re-raised) when it raises."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for statements that each stand alone (a lookup by
        key): on PostgreSQL in autocommit, so no BEGIN and no COMMIT round
        trip; back to the pool when the block ends. Never for writes, nor
        for reads that must agree with each other."""
        with self._reads.connect() as connection:
            yield connection

    def read_one(self, statement: Executable, params: dict[str, Any]) -> tuple | None:
        """The one row of a SELECT that stands alone (a lookup by key), as a
        plain tuple, or None when nothing matches.

        For the hop's hot path: on PostgreSQL the statement (compiled once)
        goes straight to a pooled psycopg connection in autocommit, with no
        SQLAlchemy `Connection` around it, which was two thirds of such a
        lookup's CPU; the pool's checkout ping and timeouts apply as for any
        connection. So no type processing: only for columns and parameters
        the driver hands over as they are (text, numbers; a StrEnum column
        comes back as its string). A statement that meets a dead connection
        raises the driver's error once; the connection is dropped, and every
        other one as old with it, as SQLAlchemy does (`Engine.dispose`). On
        SQLite, an ordinary `reading` connection."""
        if self.dialect == "sqlite":
            with self.reading() as connection:
                row = connection.execute(statement, params).one_or_none()
                return None if row is None else tuple(row)
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = self._for_driver(statement)
        sql, fixed = compiled
        params = {**fixed, **params} if fixed else params
        pooled = self.engine.raw_connection()
        driver = pooled.driver_connection
        try:
            driver.autocommit = True  # no BEGIN; set back before the pool sees it again
            try:
                with driver.cursor() as cursor:
                    return cursor.execute(sql, params).fetchone()
            finally:
                if not driver.broken:  # a broken one is dropped below
                    driver.autocommit = False
        except self.engine.dialect.loaded_dbapi.Error as error:
            if self.engine.dialect.is_disconnect(error, driver, None):
                pooled.invalidate(error)
                # The others are as old: a fresh pool, the idle ones closed (a
                # dropped psycopg connection left open warns when collected).
                self.engine.dispose()
            raise
        finally:
            pooled.close()  # back to the pool (a no-op for an invalidated one)

    def _for_driver(self, statement: Executable) -> tuple[str, dict[str, Any]]:
        """`statement` as the driver takes it: its SQL text, and the values
        of the parameters the statement fixes itself (literals)."""
        compiled = statement.compile(dialect=self.engine.dialect)
        fixed = {name: bind.effective_value for bind, name in compiled.bind_names.items()
                 if not bind.required}
        return str(compiled), fixed

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema to `revision`; a no-op when already there.

        Safe to call from several processes starting at once: on PostgreSQL
        they take turns (advisory lock); SQLite's write lock does the same.
        """

        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # A migration may rewrite a table or wait for the lock of a
                # process that migrates first: the hop's timeouts are not for it.
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                connection.execute(text("SET LOCAL lock_timeout = 0"))
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            command.upgrade(alembic_config(connection=connection), revision)

    def current_revision(self) -> str | None:
        """The Alembic revision the database is at, None when unmigrated."""

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection (call on shutdown and in tests)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        # Never print the password.
        return f"Database({self.url.render_as_string(hide_password=True)!r})"
