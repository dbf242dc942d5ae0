"""Shared fixtures: the real Redis and PostgreSQL the test command starts.

Tests get their own Redis database number (9) and their own PostgreSQL schema
(`isoko_test` inside the `test` database), so they never touch a developer's data.
Two test runs at once on one machine collide there: give the second its own
with ISOKO_TEST_REDIS_DB and ISOKO_TEST_PG_SCHEMA.
"""
from __future__ import annotations

import gc
import os

import pytest
import redis

TEST_REDIS_URL = f"redis://127.0.0.1:6379/{int(os.environ.get('ISOKO_TEST_REDIS_DB', '9'))}"
TEST_PG_SCHEMA = os.environ.get("ISOKO_TEST_PG_SCHEMA", "isoko_test")
TEST_PG_URL = ("postgresql+psycopg://postgres@127.0.0.1:5432/test"
               f"?options=-csearch_path%3D{TEST_PG_SCHEMA}")


@pytest.fixture(autouse=True, scope="module")
def _heap_frozen_between_modules():
    """Collect what the modules before left, and freeze what survives.

    By the last modules this one process holds some 900,000 objects (fixtures
    of the whole session, modules, caches). A full collection walks them all,
    about a second with every thread stopped, and ran some 200 times a run:
    a tenth of the suite's time, and enough to push a timed check (a
    `/healthz` within 1 s while Redis is frozen) past its bound. Frozen, they
    are left out of later collections, which then walk one module's objects.
    """
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def redis_client(redis_url):
    """A client on the tests' own Redis database, emptied before and after each test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


# --- SQL databases (data layer) ----------------------------------------------
#
# `database` gives each test a migrated, seeded Database on SQLite and on
# PostgreSQL. The schema is migrated once per session and backend: SQLite
# tests get a copy of a migrated template file, PostgreSQL tests get the
# `isoko_test` schema emptied (TRUNCATE) and re-seeded.

import shutil  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from gateway.core.db import Database  # noqa: E402
from gateway.market.seed import seed  # noqa: E402

SQL_BACKENDS = ["sqlite", "postgresql"]


def pg_url_for_schema(schema: str) -> str:
    """TEST_PG_URL with its search_path pointed at `schema`."""
    url = sa.make_url(TEST_PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def reset_pg_schema(schema: str, *, create: bool = True) -> None:
    """Drop `schema` (and all in it) and recreate it, over a plain connection
    to the test database."""
    admin_url = sa.make_url(TEST_PG_URL).difference_update_query(["options"])
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if create:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file for tests to copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # the last close checkpoints the WAL into the main file
    return str(path)


@pytest.fixture(scope="session")
def _pg_schema():
    """The `isoko_test` schema, recreated and migrated once per session."""
    reset_pg_schema(TEST_PG_SCHEMA)
    db = Database(TEST_PG_URL)
    db.upgrade()
    with db.engine.connect() as connection:
        tables = [
            name
            for name in connection.dialect.get_table_names(connection, schema=TEST_PG_SCHEMA)
            if name != "alembic_version"
        ]
    db.dispose()
    yield tables


def _empty_pg(db: Database, tables: list[str]) -> None:
    names = ", ".join(f'"{name}"' for name in tables)
    with db.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=SQL_BACKENDS)
def database(request, tmp_path):
    """A Database with the migrated schema and the seed loaded, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "isoko.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        tables = request.getfixturevalue("_pg_schema")
        db = Database(TEST_PG_URL)
        _empty_pg(db, tables)
    with db.session() as session:
        seed(session)
    yield db
    db.dispose()


# --- the gateway app on real services ----------------------------------------

from dataclasses import dataclass as _dataclass  # noqa: E402


@_dataclass
class Gateway:
    """A running app for tests: its services, a test client, the raw clients."""

    services: object
    http: object

    @property
    def db(self):
        return self.services.db

    @property
    def redis(self):
        return self.services.redis


@pytest.fixture
def gateway_factory(database, redis_client):
    """Build gateway apps on the test database (each SQL backend) and the
    tests' Redis database; `env` adds settings, `redis_client` swaps Redis."""
    from gateway.web.app import create_app
    from gateway.web.services import bootstrap, build_services, prepare_database
    from gateway.core.settings import Settings

    built = []

    def make(env: dict | None = None, redis_client=redis_client):
        settings = Settings.from_env({"DATABASE_URL": database.url.render_as_string(hide_password=False),
                                      "REDIS_URL": TEST_REDIS_URL, **(env or {})})
        services = build_services(settings, redis_client=redis_client)
        built.append(services)
        if redis_client is not None and redis_client.connection_pool.connection_kwargs.get("port") != 1:
            bootstrap(services)
        else:  # Redis unreachable on purpose: only the SQL half of the bootstrap
            prepare_database(services.db)
        return Gateway(services, create_app(services=services).test_client())

    yield make
    for services in built:
        services.db.dispose()


@pytest.fixture
def gateway(gateway_factory):
    """The gateway on the test database and Redis, shipped menu published."""
    return gateway_factory()
