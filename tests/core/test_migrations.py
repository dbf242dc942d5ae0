"""The Alembic revisions and the Database wrapper, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from gateway.core.db import MIGRATIONS_DIR, Database, alembic_config, normalize_url
from gateway.schema import Base
from gateway.market.models import District, Producer
from gateway.ussd.models import MenuHead, MenuVersion
from tests.conftest import SQL_BACKENDS, TEST_PG_SCHEMA, pg_url_for_schema, reset_pg_schema

# Next to the run's own schema, so two runs given different schemas
# (ISOKO_TEST_PG_SCHEMA) do not drop each other's.
MIGRATION_SCHEMA = f"{TEST_PG_SCHEMA}_migrations"
# Every revision, oldest first, with the tables it creates.
REVISION_TABLES = {
    "0001": {
        "districts",
        "products",
        "producers",
        "listings",
        "messages",
        "menu_versions",
        "menu_heads",
    },
    "0002": {
        "orders",
        "order_events",
        "api_keys",
        "delivery_reports",
        "inbound_sms",
        "opt_outs",
        "ussd_sessions",
    },
    "0003": {
        "operators",
        "audit_log",
        "drafts",
    },
    "0004": set(),  # the gateway's own session columns on ussd_sessions
    "0005": set(),  # producers.name to 60 characters; French catalogue names
    "0006": set(),  # per-product price bounds on products
    "0007": {
        "catalogue_version",
        "price_changes",
    },
    "0008": {
        "order_event_outbox",
        "webhooks",
        "webhook_deliveries",
        "webhook_attempts",
    },
    "0009": set(),  # the delivery code's hash, wrong entries and lock; delivered_at
    "0010": {
        "payments",
        "payment_events",
    },
    "0011": set(),  # operators.last_failed_at: a run of failed log-ins ends
    "0012": set(),  # the provider's raw form on delivery_reports, inbound_sms, ussd_sessions
    "0013": {
        "price_alerts",
        "broadcasts",
        "broadcast_recipients",
    },
    "0014": set(),  # delivery_reports.phone: a report settles an `unknown` message by its number
    "0015": {
        "wants",
        "want_matches",
    },
    "0016": set(),  # the Buy list's index on listings (product, status, price, age)
}
TABLES = set().union(*REVISION_TABLES.values())
SESSION_COLUMNS_0004 = {"started_at", "last_hop_at", "hop_count", "last_hop", "language"}
# Columns 0002 adds to an existing table (delivery reports, sender id, retries).
MESSAGE_COLUMNS_0002 = {
    "delivery_status",
    "delivered_at",
    "failure_reason",
    "sender_id",
    "next_attempt_at",
}


@pytest.fixture(params=SQL_BACKENDS)
def empty_database(request, tmp_path):
    """A Database on an empty schema: a new SQLite file, or a PostgreSQL
    schema of its own (the shared `isoko_test` one stays migrated)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
        return
    reset_pg_schema(MIGRATION_SCHEMA)
    db = Database(pg_url_for_schema(MIGRATION_SCHEMA))
    yield db
    db.dispose()
    reset_pg_schema(MIGRATION_SCHEMA, create=False)


def table_names(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}


def column_names(db: Database, table: str) -> set[str]:
    with db.engine.connect() as connection:
        return {column["name"] for column in sa.inspect(connection).get_columns(table)}


def migrate(db: Database, direction: str, revision: str) -> None:
    with db.engine.begin() as connection:
        getattr(command, direction)(alembic_config(connection=connection), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_one_linear_history_shipped_in_the_package():
    script = ScriptDirectory.from_config(alembic_config())
    assert MIGRATIONS_DIR.name == "migrations" and MIGRATIONS_DIR.parent.name == "gateway"
    assert len(script.get_heads()) == 1
    oldest_first = list(reversed(list(script.walk_revisions())))
    assert [rev.revision for rev in oldest_first] == list(REVISION_TABLES)
    # Linear: each revision follows the one before it, none merges or branches.
    assert [rev.down_revision for rev in oldest_first] == [None, *list(REVISION_TABLES)[:-1]]
    assert all(not rev.is_merge_point and not rev.is_branch_point for rev in oldest_first)
    # One file per revision, named after it.
    files = sorted(path.name for path in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert [name[:4] for name in files] == list(REVISION_TABLES)


def test_upgrade_creates_every_table_and_is_idempotent(empty_database, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the migrations are found from the package, not the cwd
    assert empty_database.current_revision() is None
    empty_database.upgrade()
    empty_database.upgrade()
    assert empty_database.current_revision() == head_revision() == list(REVISION_TABLES)[-1]
    assert table_names(empty_database) == TABLES


def test_each_revision_adds_its_tables_and_goes_back_cleanly(empty_database):
    db, created = empty_database, set()
    for revision, tables in REVISION_TABLES.items():
        migrate(db, "upgrade", revision)
        created |= tables
        assert db.current_revision() == revision
        assert table_names(db) == created
        if revision == "0001":
            assert not MESSAGE_COLUMNS_0002 & column_names(db, "messages")
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO messages (recipient, text, language, kind, status, attempts,"
                    " segments, created_at) VALUES ('+250788000001', 'Murakoze', 'rw', 'receipt',"
                    " 'sent', 1, 1, CURRENT_TIMESTAMP)"))
        if revision == "0002":
            assert MESSAGE_COLUMNS_0002 <= column_names(db, "messages")
        if revision == "0003":
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO ussd_sessions (session_id, status, received_at)"
                    " VALUES ('ATUid_old', 'Success', CURRENT_TIMESTAMP)"))
        if revision == "0004":
            assert SESSION_COLUMNS_0004 <= column_names(db, "ussd_sessions")
            with db.engine.begin() as connection:  # a session only the gateway saw: no status
                connection.execute(sa.text("INSERT INTO ussd_sessions (session_id, received_at, hop_count)"
                                           " VALUES ('gw-1', CURRENT_TIMESTAMP, 3)"))
                assert connection.execute(sa.text(
                    "SELECT session_id, status, hop_count FROM ussd_sessions ORDER BY session_id")).all() == [
                    ("ATUid_old", "Success", None), ("gw-1", None, 3)]
    # A message sent before 0002 is still there after it (SQLite rebuilds the table).
    with db.engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT recipient, delivery_status, next_attempt_at FROM messages")).all() == [
            ("+250788000001", None, None)]
    revisions = list(REVISION_TABLES)
    for previous, revision in reversed(list(zip([None, *revisions], revisions))):
        migrate(db, "downgrade", previous or "base")
        created -= REVISION_TABLES[revision]
        assert db.current_revision() == previous
        assert table_names(db) == created
        if previous == "0001":
            assert not MESSAGE_COLUMNS_0002 & column_names(db, "messages")
    assert table_names(db) == set()


def test_models_and_migrations_agree(empty_database):
    empty_database.upgrade()
    with empty_database.engine.begin() as connection:
        # Raises AutogenerateDiffsDetected when a model change has no revision.
        command.check(alembic_config(connection=connection))


def test_downgrade_to_base_and_back(empty_database):
    empty_database.upgrade()
    with empty_database.engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
    assert table_names(empty_database) == set()
    assert empty_database.current_revision() is None
    empty_database.upgrade()
    assert table_names(empty_database) == TABLES


def test_migrations_accept_a_url_instead_of_a_connection(empty_database):
    url = empty_database.url.render_as_string(hide_password=False)
    command.upgrade(alembic_config(url=url), "head")
    assert empty_database.current_revision() == head_revision()


def test_listing_indexes_exist(database):
    with database.engine.connect() as connection:
        indexes = {ix["name"]: ix["column_names"] for ix in sa.inspect(connection).get_indexes("listings")}
    assert indexes["ix_listings_producer_status"] == ["producer_id", "status"]
    assert indexes["ix_listings_product_price"] == ["product_id", "status", "unit_price", "created_at", "id"]
    assert "ix_listings_product_status" not in indexes  # 0016: the longer index serves its queries


def test_order_and_message_indexes_exist(database):
    with database.engine.connect() as connection:
        inspector = sa.inspect(connection)
        orders = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("orders")}
        messages = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("messages")}
        unique = {tuple(uq["column_names"]) for uq in inspector.get_unique_constraints("orders")}
    # A seller's pending orders, the expiry sweep, and delivery reports finding their message.
    assert orders["ix_orders_seller_id_status"] == ["seller_id", "status"]
    assert orders["ix_orders_status_expires_at"] == ["status", "expires_at"]
    assert messages["ix_messages_provider_message_id"] == ["provider_message_id"]
    assert {("code",), ("idem_key",)} <= unique


def test_foreign_keys_are_enforced(database):
    with pytest.raises(sa.exc.IntegrityError):
        with database.session() as s:
            s.add(
                Producer(
                    phone="+250788000009",
                    name="Nobody",
                    district_id=999_999,
                    language="en",
                    consented_at=datetime.now(timezone.utc),
                )
            )


def test_menu_head_must_point_at_a_published_version(database):
    with database.session() as s:
        s.add(MenuVersion(name="market", version=1, source="screens: {}"))
        s.flush()
        s.add(MenuHead(name="market", version=1))
    with pytest.raises(sa.exc.IntegrityError):
        with database.session() as s:
            s.get(MenuHead, "market").version = 2
    with pytest.raises(sa.exc.IntegrityError):
        with database.session() as s:
            s.add(MenuVersion(name="market", version=1, source="again"))


def test_datetimes_come_back_timezone_aware_utc(database):
    with database.session() as s:
        version = MenuVersion(name="m", version=1, source="x")
        s.add(version)
    with database.session() as s:
        stored = s.get(MenuVersion, version.id)
        assert stored.created_at.utcoffset() is not None
        assert stored.created_at.utcoffset().total_seconds() == 0
        stored.note = "naive datetimes are refused"
        stored.created_at = datetime(2025, 1, 1)
        with pytest.raises(sa.exc.StatementError):
            s.flush()
        s.rollback()


def test_session_commits_on_success_and_rolls_back_on_error(database):
    with database.session() as s:
        s.add(District(name="Testland", province_en="Test", province_rw="Test"))
    with pytest.raises(ZeroDivisionError):
        with database.session() as s:
            s.add(District(name="Ghost", province_en="Test", province_rw="Test"))
            s.flush()
            1 / 0
    with database.session() as s:
        names = set(s.scalars(sa.select(District.name)))
    assert "Testland" in names and "Ghost" not in names


def test_sessions_keep_loaded_values_after_commit(database):
    with database.session() as s:
        district = s.scalars(sa.select(District).where(District.name == "Huye")).one()
    # expire_on_commit=False: no detached-instance error outside the block.
    assert district.province_en == "Southern"


def test_concurrent_read_then_write_transactions_both_succeed(database):
    """Two sessions that read, then write, overlapping in time (a USSD hop and
    the SMS worker): neither may fail with "database is locked"."""
    first_read = threading.Event()
    errors: list[BaseException] = []

    def transaction(name: str, wait_for: threading.Event | None) -> None:
        try:
            with database.session() as s:
                s.scalar(sa.select(sa.func.count()).select_from(District))
                first_read.set()
                if wait_for is not None:
                    # Under SQLite this waits in vain (the other session
                    # holds the lock): the point is not to fail afterwards.
                    wait_for.wait(0.5)
                s.add(District(name=name, province_en="x", province_rw="x"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    second_done = threading.Event()
    one = threading.Thread(target=transaction, args=("One", second_done))
    one.start()
    first_read.wait(2)
    two = threading.Thread(target=lambda: (transaction("Two", None), second_done.set()))
    two.start()
    one.join(10)
    two.join(10)
    assert errors == []
    with database.session() as s:
        names = set(s.scalars(sa.select(District.name)))
    assert {"One", "Two"} <= names


def test_ping(database):
    assert database.ping() is True
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2")
    try:
        assert unreachable.ping() is False
    finally:
        unreachable.dispose()


def test_constructor_does_no_io():
    # Nothing listens on port 1: building the object must still succeed.
    db = Database("postgresql://postgres@127.0.0.1:1/nowhere")
    assert db.engine.url.drivername == "postgresql+psycopg"
    assert "secret" not in repr(Database("postgresql://u:secret@127.0.0.1:1/x"))


def test_url_normalisation():
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_sqlite_connections_are_tuned(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'tuned.db'}")
    try:
        with db.engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 5000
    finally:
        db.dispose()


def test_sqlite_in_memory_is_one_database_across_threads():
    db = Database("sqlite://")
    try:
        db.upgrade()
        seen: list[set[str]] = []
        worker = threading.Thread(target=lambda: seen.append(table_names(db)))
        worker.start()
        worker.join(5)
        assert seen == [TABLES]
    finally:
        db.dispose()


def test_metadata_covers_the_brief():
    assert TABLES == set(Base.metadata.tables)
