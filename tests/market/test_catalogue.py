"""The catalogue service: edits, reference prices and their history, imports
all or nothing, the file formats, and the version caches follow; on SQLite
and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from gateway.core.models import utcnow
from gateway.market import catalogue, catalogue_files
from gateway.market import service as market
from gateway.market.catalogue import CatalogueInvalid
from gateway.market.models import CatalogueVersion, Listing, PriceChange, Product
from gateway.market.rules import NotFound
from gateway.ussd.sources import Sources

CASSAVA = {"code": "cassava", "name_rw": "Imyumbati", "name_en": "Cassava", "name_fr": "Manioc",
           "unit": "kg", "reference_price": 250}


def problems(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


def a_listing(s, code: str, grade: str | None = None) -> Listing:
    district = market.districts(s)[0]
    producer = market.register_producer(s, phone="+250788000041", name="Jean Bosco", district_id=district.id,
                                        language="en", consented_at=utcnow())
    listing = Listing(code="400001", producer_id=producer.id, product_id=catalogue.by_code(s, code).id,
                      grade=grade, quantity=10, unit_price=800)
    s.add(listing)
    s.flush()
    return listing


def test_set_price_keeps_the_history_and_moves_the_version(database):
    with database.session() as s:
        start = catalogue.version(s)
        outcome = catalogue.set_price(s, "coffee_cherry", 750, by="cli:ops")
        assert outcome.changes == ("coffee_cherry reference_price 700 -> 750",)
        catalogue.set_price(s, "coffee_cherry", 760, by="eddie")
        assert catalogue.set_price(s, "coffee_cherry", 760, by="eddie").changes == ()  # no change, no entry
        product = catalogue.by_code(s, "coffee_cherry")
        rows = [(h.old_price, h.new_price, h.changed_by) for h in catalogue.history(s, product.id)]
        assert rows == [(750, 760, "eddie"), (700, 750, "cli:ops")]
        assert all(h.changed_at.tzinfo is not None for h in catalogue.history(s, product.id))
        assert catalogue.version(s) == start + 2
    with database.session() as s:
        assert catalogue.by_code(s, "coffee_cherry").reference_price == 760


@pytest.mark.parametrize("price", [0, -5, 100_000_001, "1.5", "abc", True, None])
def test_set_price_refuses_what_is_not_a_positive_whole_rwf(database, price):
    with database.session() as s:
        with pytest.raises(CatalogueInvalid) as exc:
            catalogue.set_price(s, "coffee_cherry", price, by="eddie")
        assert problems(exc)[0].startswith("reference_price: ")
        with pytest.raises(NotFound):
            catalogue.set_price(s, "no_such_thing", 100, by="eddie")


def test_edit_checks_the_whole_product_and_says_every_problem(database):
    with database.session() as s:
        with pytest.raises(CatalogueInvalid) as exc:
            catalogue.edit(s, "beans", {"name_en": "Beans of the thousand hills", "name_fr": "Haricots \u2019",
                                        "name_rw": " ", "unit": "litre", "active": "perhaps",
                                        "grades": [{"code": "a", "name_rw": "x", "name_en": "y", "name_fr": "z"},
                                                   {"code": "B", "name_rw": "Icyiciro B|2", "name_en": "B",
                                                    "name_fr": "B"}]}, by="eddie")
        assert problems(exc) == [
            "name_rw: missing",
            "name_en: 27 characters, at most 20",
            "name_fr: character outside GSM-7: '\u2019'",
            "unit: 'litre' is not one of kg, piece",
            "active: yes or no",
            "grades[1].code: 1 to 8 capital letters or digits",
            "grades[2].name_rw: no ';' or '|' in a grade name",
        ]
        assert catalogue.by_code(s, "beans").name_en == "Beans"
        outcome = catalogue.edit(s, "beans", {"name_fr": "Haricots secs", "active": False, "unit": "piece",
                                              "grades": [{"code": "A", "name_rw": "Icyiciro A",
                                                          "name_en": "Grade A", "name_fr": "Classe A"}]},
                                 by="eddie")
        assert outcome.changes == ("beans name_fr 'Haricots' -> 'Haricots secs'", "beans unit 'kg' -> 'piece'",
                                   "beans active True -> False", "beans grades [] -> [A]")
        beans = catalogue.by_code(s, "beans")
        assert (beans.name_fr, beans.unit.value, beans.active, beans.grade_codes()) == (
            "Haricots secs", "piece", False, ["A"])
        assert "beans" not in [p.code for p in market.products(s)]  # off sale, still there


def test_listings_keep_their_unit_and_grades(database):
    with database.session() as s:
        a_listing(s, "parchment_coffee", grade="B")
        with pytest.raises(CatalogueInvalid) as exc:
            catalogue.edit(s, "parchment_coffee", {"unit": "piece", "grades": []}, by="eddie")
        assert problems(exc) == ["unit: listings of parchment_coffee are in kg", "grades: listings use grade B"]
        product = catalogue.by_code(s, "parchment_coffee")
        keep_b = [g for g in product.grades if g["code"] == "B"]
        assert catalogue.edit(s, "parchment_coffee", {"grades": keep_b}, by="eddie").changes


def test_import_creates_updates_and_leaves_omitted_products_alone(database):
    with database.session() as s:
        before = {p.code: catalogue.as_dict(p) for p in catalogue.all_products(s)}
        start = catalogue.version(s)
        cherry = dict(before["coffee_cherry"], reference_price=800, name_fr="Cerise de café")
        outcome = catalogue.import_products(s, [CASSAVA, cherry], by="cli:ops")
        assert outcome.created == ("cassava",)
        assert outcome.changes == ("coffee_cherry name_fr 'Café cerise' -> 'Cerise de café'",
                                   "coffee_cherry reference_price 700 -> 800")
        assert catalogue.version(s) == start + 1
    with database.session() as s:
        after = {p.code: catalogue.as_dict(p) for p in catalogue.all_products(s)}
        assert list(after)[-1] == "cassava" and after["cassava"]["active"] is True
        assert {k: v for k, v in after.items() if k not in ("cassava", "coffee_cherry")} == {
            k: v for k, v in before.items() if k != "coffee_cherry"}
        cassava = catalogue.by_code(s, "cassava")
        assert [(h.old_price, h.new_price, h.changed_by) for h in catalogue.history(s, cassava.id)] == [
            (None, 250, "cli:ops")]
        assert cassava.position > max(p.position for p in catalogue.all_products(s) if p.code != "cassava")


def test_a_bad_import_changes_nothing_and_names_every_row(database):
    with database.session() as s:
        a_listing(s, "parchment_coffee", grade="A")
        exported = [catalogue.as_dict(p) for p in catalogue.all_products(s)]
        start, history = catalogue.version(s), s.scalars(select(PriceChange)).all()
    rows = [dict(exported[0], reference_price=900),  # fine alone, but the file is refused as a whole
            dict(exported[1], grades=[]),
            dict(CASSAVA, reference_price="12,000", colour="brown"),
            dict(CASSAVA),
            "not a product"]
    with database.session() as s:
        with pytest.raises(CatalogueInvalid) as exc:
            catalogue.import_products(s, rows, by="cli:ops", first_row=2)
    assert problems(exc) == [
        "row 3, grades: listings use grade A",
        "row 4, colour: unknown field",
        "row 4, reference_price: '12,000' is not a whole number of RWF",
        "row 5, code: cassava also on row 4",
        "row 6, (product): must be a mapping of fields",
    ]
    with database.session() as s:
        assert [catalogue.as_dict(p) for p in catalogue.all_products(s)] == exported
        assert catalogue.version(s) == start and s.scalars(select(PriceChange)).all() == history
        with pytest.raises(CatalogueInvalid) as exc:
            catalogue.import_products(s, [], by="cli:ops")
        assert problems(exc) == ["(file): no products"]


@pytest.mark.parametrize("fmt", catalogue_files.FORMATS)
def test_export_is_what_import_reads(database, fmt):
    with database.session() as s:
        catalogue.edit(s, "honey", {"name_fr": "Miel \u00e9pais", "active": False}, by="eddie")
        products = catalogue.all_products(s)
        text = catalogue_files.export(products, fmt)
        rows, first = catalogue_files.parse(text, fmt)
        assert first == (2 if fmt == "csv" else 1)
        assert [catalogue.check(r, None, catalogue.units(s))[0] for r in rows] == [
            catalogue.as_dict(p) for p in products]
        assert catalogue.import_products(s, rows, by="cli:ops") == catalogue.Outcome()


def test_unreadable_files_are_one_problem(database):
    for text, fmt, expected in (("products: [", "yaml", "line 1: not YAML"),
                                ("- a\n- b\n", "yaml", "(file): expected a mapping with a 'products' list"),
                                ("code,name_en\nx,y\n", "csv", "row 1, (header): missing column name_rw")):
        with pytest.raises(CatalogueInvalid) as exc:
            catalogue_files.parse(text, fmt)
        assert problems(exc)[0].startswith(expected), problems(exc)


def test_units_are_those_the_sms_texts_write(database):
    with database.session() as s:
        assert catalogue.units(s) == ["kg", "piece"]


def test_the_version_survives_a_missing_row(database):
    with database.session() as s:
        s.execute(delete(CatalogueVersion))
    with database.session() as s:
        assert catalogue.version(s) == 0
        catalogue.bump(s)
        catalogue.bump(s)
    with database.session() as s:
        assert catalogue.version(s) == 2


def test_the_product_list_is_cached_until_the_version_moves(database, monkeypatch):
    sources, loads = Sources(), []
    real = market.products
    monkeypatch.setattr(market, "products", lambda s: loads.append(1) or real(s))
    with database.session() as s:
        first = sources.items(lambda: s, "products", {}, "en")
        assert sources.items(lambda: s, "products", {}, "en") == first and len(loads) == 1
        cherry = next(i for i in first if i.label == "Coffee cherry")
        assert cherry.values["ref"] == 700
    with database.session() as s:
        catalogue.set_price(s, "coffee_cherry", 750, by="eddie")
    with database.session() as s:
        again = sources.items(lambda: s, "products", {}, "en")
        assert len(loads) == 2
        assert next(i for i in again if i.label == "Coffee cherry").values["ref"] == 750
        assert s.get(Product, int(cherry.id)).reference_price == 750
