"""The time bounds: read and checked with the other settings, and set on
every PostgreSQL connection the web opens (SQLite unaffected)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from gateway.core.bounds import TimeBounds
from gateway.core.db import Database
from gateway.core.settings import Settings, SettingsError
from gateway.ussd import budget
from menus import gsm7
from tests.conftest import TEST_PG_SCHEMA, TEST_PG_URL


def test_defaults_and_variables_are_read():
    assert Settings.from_env({}).bounds == TimeBounds()
    assert TimeBounds().hop_budget_seconds == 5
    read = Settings.from_env({"USSD_HOP_BUDGET_SECONDS": "3", "DB_STATEMENT_TIMEOUT_MS": "1500",
                              "DB_LOCK_TIMEOUT_MS": "700", "DB_CONNECT_TIMEOUT_SECONDS": "4",
                              "REDIS_SOCKET_TIMEOUT_MS": "400", "REDIS_CONNECT_TIMEOUT_MS": "300"}).bounds
    assert read == TimeBounds(3, 4, 1500, 700, 300, 400)


@pytest.mark.parametrize("name, value", [("USSD_HOP_BUDGET_SECONDS", "10"), ("USSD_HOP_BUDGET_SECONDS", "0"),
                                         ("DB_STATEMENT_TIMEOUT_MS", "soon"), ("REDIS_SOCKET_TIMEOUT_MS", "0")])
def test_out_of_range_values_are_refused_by_name(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_postgresql_connections_carry_the_timeouts_and_keep_the_urls_options(_pg_schema):
    db = Database(TEST_PG_URL, pg_connect_args=TimeBounds(db_statement_timeout_ms=1500,
                                                          db_lock_timeout_ms=700).pg_connect_args())
    try:
        with db.engine.connect() as connection:
            shown = [connection.execute(text(f"SHOW {name}")).scalar()
                     for name in ("statement_timeout", "lock_timeout", "search_path")]
            assert shown == ["1500ms", "700ms", TEST_PG_SCHEMA]
            with pytest.raises(Exception, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(3)"))
    finally:
        db.dispose()


def test_sqlite_ignores_them(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/x.db", pg_connect_args=TimeBounds().pg_connect_args())
    assert db.ping()
    db.dispose()


def test_the_timed_out_end_fits_every_screen_in_every_language():
    for lang in ("rw", "en", "fr"):
        reply = budget.timed_out(lang)
        assert reply.startswith("END ") and gsm7.first_non_gsm7(reply) is None and gsm7.length(reply) <= 160
    assert budget.timed_out(None) == budget.timed_out("rw")
