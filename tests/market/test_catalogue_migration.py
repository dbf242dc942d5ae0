"""Revision 0005 on a database seeded before it: French names get their
accents unless an operator changed them, and names of 60 characters fit."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from gateway.core.db import Database, alembic_config
from tests.conftest import SQL_BACKENDS, TEST_PG_SCHEMA, pg_url_for_schema, reset_pg_schema

SCHEMA = f"{TEST_PG_SCHEMA}_catalogue"
OLD = {"coffee_cherry": "Cafe cerise", "green_tea_leaf": "Feuille de the", "maize": "Mais",
       "beans": "Haricots"}


@pytest.fixture(params=SQL_BACKENDS)
def old_database(request, tmp_path):
    """A database at revision 0004 holding the catalogue as shipped before."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        reset_pg_schema(SCHEMA)
        db = Database(pg_url_for_schema(SCHEMA))
    migrate(db, "upgrade", "0004")
    products = sa.table("products", *(sa.column(c) for c in (
        "code", "name_rw", "name_en", "name_fr", "unit", "grades", "reference_price", "active",
        "position")))
    with db.engine.begin() as connection:
        connection.execute(products.insert(), [
            {"code": code, "name_rw": code, "name_en": code, "name_fr": name, "unit": "kg",
             "grades": "[]", "reference_price": 100, "active": True, "position": i}
            for i, (code, name) in enumerate(OLD.items())])
    yield db
    db.dispose()
    if request.param != "sqlite":
        reset_pg_schema(SCHEMA, create=False)


def migrate(db: Database, direction: str, revision: str) -> None:
    with db.engine.begin() as connection:
        getattr(command, direction)(alembic_config(connection=connection), revision)


def french_names(db: Database) -> dict[str, str]:
    with db.engine.connect() as connection:
        return dict(connection.execute(sa.text("SELECT code, name_fr FROM products")).all())


def test_accents_reach_a_deployed_catalogue_without_overwriting_an_operators_edit(old_database):
    with old_database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE products SET name_fr = 'Thé vert' WHERE code = 'green_tea_leaf'"))
    migrate(old_database, "upgrade", "0005")
    assert french_names(old_database) == {"coffee_cherry": "Café cerise", "green_tea_leaf": "Thé vert",
                                          "maize": "Mais en grain", "beans": "Haricots"}
    migrate(old_database, "downgrade", "0004")  # and back: the old names, the operator's kept
    assert french_names(old_database) == {**OLD, "green_tea_leaf": "Thé vert"}
    migrate(old_database, "upgrade", "0005")
    migrate(old_database, "upgrade", "head")  # again: nothing more changes
    assert french_names(old_database)["coffee_cherry"] == "Café cerise"


def test_a_name_of_sixty_characters_fits_after_the_revision(old_database):
    migrate(old_database, "upgrade", "0005")
    name = "Nyiraneza Marie Goretti Uwimana Mukamana Ingabire Umutonixyz"
    assert len(name) == 60
    with old_database.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO districts (name, province_en, province_rw) VALUES ('Huye', 'Southern', 'Amajyepfo')"))
        connection.execute(sa.text(
            "INSERT INTO producers (phone, name, district_id, language, consented_at, created_at) "
            "VALUES ('+250788000001', :name, 1, 'rw', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"name": name})
        assert connection.execute(sa.text("SELECT name FROM producers")).scalar() == name
