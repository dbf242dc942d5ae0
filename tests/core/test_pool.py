"""PostgreSQL connections from the pool: pinged only after sitting idle, and
reads that stand alone sent without a transaction (`gateway.core.db`):
through SQLAlchemy (`reading`) and straight to the driver (`read_one`)."""
from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from gateway.core import db as dbmodule
from gateway.core.db import Database
from tests.conftest import TEST_PG_URL


@pytest.fixture
def pg():
    db = Database(TEST_PG_URL)
    yield db
    db.dispose()


@pytest.fixture
def pings(pg, monkeypatch):
    """The pings the pool sends (the dialect's own ping, still sent)."""
    sent = []
    real = pg.engine.dialect.do_ping
    monkeypatch.setattr(pg.engine.dialect, "do_ping", lambda conn: sent.append(conn) or real(conn))
    return sent


def backend_pid(db: Database) -> int:
    with db.session() as s:
        return s.scalar(sa.text("SELECT pg_backend_pid()"))


def terminate(pid: int) -> None:
    with psycopg.connect(sa.make_url(TEST_PG_URL).set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_used_moments_ago_is_not_pinged(pg, pings):
    first = backend_pid(pg)
    assert backend_pid(pg) == first  # the same pooled connection, twice
    assert pings == []


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_when_dead(pg, pings, monkeypatch):
    dead = backend_pid(pg)
    terminate(dead)
    monkeypatch.setattr(dbmodule, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if idle for long
    replaced = backend_pid(pg)  # no error: the ping found it dead, the pool reconnected
    assert replaced != dead and pings[0].broken  # the dead one was pinged first


def test_a_connection_that_died_since_its_last_use_fails_once_then_the_pool_recovers(pg, pings):
    """The trade-off of not pinging busy connections: the one statement that
    meets a server restart fails (a hop's polite END), the pool drops every
    connection as old as it, and the next caller gets a fresh one."""
    dead = backend_pid(pg)
    terminate(dead)
    with pytest.raises(sa.exc.OperationalError) as failed:
        backend_pid(pg)
    assert failed.value.connection_invalidated
    assert backend_pid(pg) != dead and pings == []


def test_a_read_sends_no_transaction_and_the_next_session_has_one(pg):
    with pg.reading() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        dbapi = connection.connection.dbapi_connection
        assert dbapi.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
    with pg.session() as s:
        s.execute(sa.text("SELECT 1"))
        dbapi = s.connection().connection.dbapi_connection
        assert dbapi.info.transaction_status == TransactionStatus.INTRANS


def test_read_one_sends_no_transaction_and_gives_the_connection_back_as_it_was(pg):
    """`read_one` bypasses SQLAlchemy's Connection: the pooled connection it
    used runs the next session's transaction as usual, not in autocommit."""
    row = pg.read_one(sa.select(sa.func.txid_current_if_assigned(), sa.func.pg_backend_pid()), {})
    assert row[0] is None and isinstance(row, tuple)  # no transaction was begun for it
    assert pg.read_one(sa.select(sa.literal(1)).where(sa.literal(1) == sa.bindparam("n")), {"n": 2}) is None
    with pg.session() as s:
        dbapi = s.connection().connection.dbapi_connection
        assert s.scalar(sa.text("SELECT pg_backend_pid()")) == row[1]  # the same connection, back in the pool
        assert dbapi.info.transaction_status == TransactionStatus.INTRANS and not dbapi.autocommit


def test_read_one_on_a_connection_that_died_fails_once_then_gets_a_fresh_one(pg, pings):
    pid = sa.select(sa.func.pg_backend_pid())
    dead = pg.read_one(pid, {})[0]
    terminate(dead)
    with pytest.raises(psycopg.OperationalError):
        pg.read_one(pid, {})
    assert pg.read_one(pid, {})[0] != dead and pings == []
    assert backend_pid(pg) != dead  # sessions get a fresh connection too


def test_read_one_meeting_a_dead_connection_closes_the_idle_ones_it_drops(pg):
    """The pool it replaces had other connections, idle: closed, not left
    open for the garbage collector (psycopg warns about each one it finds)."""
    pid = sa.select(sa.func.pg_backend_pid())
    with pg.engine.connect() as first, pg.engine.connect() as second:  # two in the pool once back
        idle = [first.connection.dbapi_connection, second.connection.dbapi_connection]
        dead = first.execute(pid).scalar()
    terminate(dead)
    with pytest.raises(psycopg.OperationalError):
        for _ in idle:  # whichever the pool hands out first, the dead one within two reads
            assert pg.read_one(pid, {})[0] in {c.info.backend_pid for c in idle}
    assert all(c.closed for c in idle)
