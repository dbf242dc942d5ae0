"""Marketplace services, seed data and SMS texts, on SQLite and PostgreSQL."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from gateway.market import rules
from gateway.market import service as market
from gateway.sms import texts as smstexts
from gateway.market.service import InvalidInput, MarketError, NotFound, NotOwner
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.core.models import Language, utcnow
from gateway.sms.models import Message, MessageStatus
from gateway.market.seed import load_catalogue, load_districts, seed

PHONE = "+250788000001"
OTHER_PHONE = "+250722000002"


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def product_by_code(session, code: str) -> Product:
    return session.scalars(select(Product).where(Product.code == code)).one()


def register(session, phone=PHONE, language="en", name="Jean Bosco") -> Producer:
    district = market.districts(session)[0]
    return market.register_producer(
        session,
        phone=phone,
        name=name,
        district_id=district.id,
        language=language,
        consented_at=utcnow(),
    )


def new_listing(session, producer, code="coffee_cherry", grade=None, quantity=50, price=700, **kw):
    product = product_by_code(session, code)
    return market.create_listing(
        session,
        producer_id=producer.id,
        product_id=product.id,
        grade=grade,
        quantity=quantity,
        unit_price=price,
        **kw,
    )


# --- seed and reference data ----------------------------------------------------


def test_seed_loads_30_districts_and_the_catalogue(database):
    with database.session() as s:
        assert count(s, District) == 30
        assert count(s, Product) == len(load_catalogue())
        huye = s.scalars(select(District).where(District.name == "Huye")).one()
        assert (huye.province_en, huye.province_rw) == ("Southern", "Amajyepfo")


def test_seed_is_idempotent_and_keeps_operator_edits(database):
    with database.session() as s:
        product_by_code(s, "coffee_cherry").reference_price = 812
        s.delete(product_by_code(s, "honey"))
    with database.session() as s:
        seed(s)
        seed(s)
    with database.session() as s:
        assert count(s, District) == 30
        assert count(s, Product) == len(load_catalogue())
        assert product_by_code(s, "coffee_cherry").reference_price == 812
        assert product_by_code(s, "honey").reference_price == 7000


def test_districts_file_has_five_provinces_and_thirty_districts():
    rows = load_districts()
    assert len(rows) == 30
    assert len({row["district"] for row in rows}) == 30
    assert len({row["province_en"] for row in rows}) == 5


def test_catalogue_names_are_short_gsm7_and_complete():
    """Names fit the GSM-7 alphabet (French keeps é, è, à), not only ASCII,
    and 20 characters."""
    items = load_catalogue()
    assert 6 <= len(items) <= 8
    assert len({item["code"] for item in items}) == len(items)
    for item in items:
        assert item["unit"] in ("kg", "piece")
        assert isinstance(item["reference_price"], int) and item["reference_price"] > 0
        names = [item[f"name_{lang}"] for lang in ("rw", "en", "fr")]
        for grade in item["grades"]:
            names += [grade[f"name_{lang}"] for lang in ("rw", "en", "fr")]
        for name in names:
            assert smstexts.is_gsm7(name) and 0 < len(name) <= 20, name
    assert {"Café cerise", "Feuille de thé", "Banane à cuire"} <= {i["name_fr"] for i in items}
    assert any(item["grades"] for item in items)


def test_sms_templates_are_gsm7_in_every_language():
    """GSM-7, not ASCII: French texts carry their accents (é è à)."""
    from importlib import resources

    data = yaml.safe_load(resources.files("gateway").joinpath("data", "sms.yaml").read_text())
    for kind, texts in data["templates"].items():
        assert set(texts) == {"rw", "en", "fr"}, kind
        for text in texts.values():
            assert smstexts.is_gsm7(text), text
    assert "enregistrée" in data["templates"]["listing_receipt"]["fr"]


# --- catalogue queries --------------------------------------------------------------


def test_products_are_active_ones_in_position_order(database):
    with database.session() as s:
        product_by_code(s, "maize").active = False
        product_by_code(s, "honey").position = 1
    with database.session() as s:
        codes = [p.code for p in market.products(s)]
    assert codes[0] == "honey"
    assert "maize" not in codes
    assert len(codes) == len(load_catalogue()) - 1


def test_districts_are_sorted_by_name(database):
    with database.session() as s:
        names = [d.name for d in market.districts(s)]
    assert names == sorted(names) and len(names) == 30


def test_get_product_raises_not_found(database):
    with database.session() as s:
        assert market.get_product(s, product_by_code(s, "beans").id).code == "beans"
        with pytest.raises(NotFound) as caught:
            market.get_product(s, 999_999)
    assert caught.value.code == "not_found"


def test_product_names_and_grade_names_by_language(database):
    with database.session() as s:
        parchment = product_by_code(s, "parchment_coffee")
        assert parchment.name("fr") == "Café parche"
        assert parchment.name("sw") == parchment.name_en
        assert parchment.grade_codes() == ["A", "B", "C"]
        assert parchment.grade_name("B", "rw") == "Icyiciro B"
        with pytest.raises(KeyError):
            parchment.grade_name("Z", "en")


# --- producers ------------------------------------------------------------------------


def test_register_producer_stores_a_clean_producer(database):
    with database.session() as s:
        producer = register(s, name="  Mukamana   Alice ", language="rw")
    with database.session() as s:
        found = market.find_producer(s, PHONE)
        assert found is not None and found.id == producer.id
        assert found.name == "Mukamana Alice"
        assert found.language == Language.RW
        assert found.consented_at.tzinfo is not None
        assert found.created_at.utcoffset() == timedelta(0)
        assert market.find_producer(s, OTHER_PHONE) is None


def test_register_producer_is_idempotent_on_phone(database):
    with database.session() as s:
        first = register(s, name="First Name", language="rw")
    with database.session() as s:
        again = register(s, name="Other Name", language="fr")
        assert again.id == first.id
        assert (again.name, again.language) == ("First Name", Language.RW)
        assert count(s, Producer) == 1


def test_register_producer_survives_a_concurrent_registration(database, monkeypatch):
    """The phone was free when checked but taken at insert time: the
    savepoint keeps the caller's transaction usable and the winner returns."""
    with database.session() as s:
        winner = register(s, name="Winner")
    real_find = market.find_producer
    calls = iter([None])
    monkeypatch.setattr(market, "find_producer", lambda s, phone: next(calls, real_find(s, phone)))
    with database.session() as s:
        again = register(s, name="Loser")
        assert again.id == winner.id and again.name == "Winner"
        s.add(District(name="Still usable", province_en="x", province_rw="x"))
    with database.session() as s:
        assert count(s, Producer) == 1 and count(s, District) == 31


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": " x "}, "invalid_name"),
        ({"name": "a" * 61}, "invalid_name"),
        ({"name": "00"}, "invalid_name"),  # navigation keys are not names
        ({"name": "98 7"}, "invalid_name"),
        ({"district_id": 999_999}, "invalid_district"),
        ({"language": "sw"}, "invalid_language"),
        ({"phone": "0788000001"}, "invalid_phone"),
        ({"phone": "+250788"}, "invalid_phone"),
        ({"consented_at": datetime(2025, 1, 1)}, "invalid_consent"),
    ],
)
def test_register_producer_validates(database, changes, code):
    with database.session() as s:
        values = {
            "phone": PHONE,
            "name": "Jean",
            "district_id": market.districts(s)[0].id,
            "language": "en",
            "consented_at": utcnow(),
        }
        values.update(changes)
        with pytest.raises(InvalidInput) as caught:
            market.register_producer(s, **values)
        assert caught.value.code == code
        assert count(s, Producer) == 0


# --- listings -------------------------------------------------------------------------


def test_create_listing_saves_listing_and_queued_receipt(database):
    with database.session() as s:
        producer = register(s)
        listing, message = new_listing(s, producer, quantity=50, price=700)
    assert message is not None
    with database.session() as s:
        stored = s.get(Listing, listing.id)
        assert len(stored.code) == 6 and stored.code.isdigit() and stored.code[0] != "0"
        assert (stored.quantity, stored.unit_price, stored.grade) == (50, 700, None)
        assert stored.status == ListingStatus.ACTIVE
        receipt = s.get(Message, message.id)
        assert receipt.status == MessageStatus.QUEUED
        assert (receipt.kind, receipt.recipient, receipt.attempts) == ("listing_receipt", PHONE, 0)
        assert receipt.text == (
            f"Isoko: listing {stored.code} saved: Coffee cherry, 50 kg at 700 RWF/kg. "
            "Total 35,000 RWF. Dial *384*7# to manage it."
        )
        assert receipt.segments == 1


def test_receipt_uses_the_producers_language_and_grade(database):
    with database.session() as s:
        producer = register(s, language="fr")
        listing, message = new_listing(
            s, producer, code="parchment_coffee", grade="A", quantity=1200, price=3200,
            service_code="*500#",
        )
    assert message.language == Language.FR
    assert message.text.startswith(f"Isoko: offre {listing.code} enregistrée: Café parche (Classe A)")
    assert "1,200 kg à 3,200 RWF/kg" in message.text
    assert "Total 3,840,000 RWF" in message.text
    assert "*500#" in message.text
    assert message.segments == smstexts.segments(message.text)


def test_idem_key_creates_nothing_twice(database):
    with database.session() as s:
        producer = register(s)
        first, receipt = new_listing(s, producer, idem_key="session-1:confirm")
    with database.session() as s:
        again, none = new_listing(s, producer, quantity=999, idem_key="session-1:confirm")
        assert again.id == first.id and none is None
        assert again.quantity == 50
        assert count(s, Listing) == 1 and count(s, Message) == 1


def test_idem_key_of_another_producer_is_refused(database):
    with database.session() as s:
        first = register(s)
        second = register(s, phone=OTHER_PHONE)
        new_listing(s, first, idem_key="k")
        with pytest.raises(MarketError) as caught:
            new_listing(s, second, idem_key="k")
    assert caught.value.code == "idem_key_conflict"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"quantity": 0}, "invalid_quantity"),
        ({"quantity": 1_000_001}, "invalid_quantity"),
        ({"quantity": True}, "invalid_quantity"),
        ({"quantity": 2.5}, "invalid_quantity"),
        ({"price": 0}, "invalid_price"),
        ({"price": 100_000_001}, "invalid_price"),
        ({"grade": "A"}, "invalid_grade"),  # coffee cherry has no grades
        ({"code": "parchment_coffee"}, "invalid_grade"),  # grade required
        ({"code": "parchment_coffee", "grade": "Z"}, "invalid_grade"),
    ],
)
def test_create_listing_validates(database, kw, code):
    with database.session() as s:
        producer = register(s)
        with pytest.raises(InvalidInput) as caught:
            new_listing(s, producer, **kw)
        assert caught.value.code == code
        assert count(s, Listing) == 0 and count(s, Message) == 0


def test_create_listing_accepts_the_bounds(database):
    with database.session() as s:
        producer = register(s)
        # The absolute bounds, on a product whose operator lifted its price bounds.
        product = product_by_code(s, "coffee_cherry")
        product.price_floor_percent, product.price_ceiling_percent = 0, 10**9
        low, _ = new_listing(s, producer, quantity=1, price=1)
        high, message = new_listing(s, producer, quantity=1_000_000, price=100_000_000)
    assert (low.quantity, high.unit_price) == (1, 100_000_000)
    assert "Total 100,000,000,000,000 RWF" in message.text


def test_create_listing_needs_an_existing_producer_and_active_product(database):
    with database.session() as s:
        producer = register(s)
        product_by_code(s, "honey").active = False
        with pytest.raises(NotFound):
            new_listing(s, producer, code="honey")
        with pytest.raises(NotFound):
            market.create_listing(
                s, producer_id=999_999, product_id=product_by_code(s, "beans").id,
                grade=None, quantity=1, unit_price=1,
            )


def test_listing_code_collision_is_retried(database, monkeypatch):
    with database.session() as s:
        producer = register(s)
        taken, _ = new_listing(s, producer)
        free = "654321" if taken.code == "123456" else "123456"
        draws = iter([int(taken.code) - 100_000, int(free) - 100_000])
        monkeypatch.setattr(market.secrets, "randbelow", lambda n: next(draws))
        listing, _ = new_listing(s, producer)
    assert listing.code == free


def test_listing_code_race_recovers_inside_the_transaction(database, monkeypatch):
    """A code taken between the check and the insert: the savepoint rolls
    back only the failed insert, and the retry succeeds."""
    with database.session() as s:
        producer = register(s)
        taken, _ = new_listing(s, producer)
        free = "654321" if taken.code == "123456" else "123456"
        codes = iter([taken.code, free])
        monkeypatch.setattr(market, "_free_code", lambda session: next(codes))
        listing, message = new_listing(s, producer, code="beans")
    assert listing.code == free and message is not None
    with database.session() as s:
        assert count(s, Listing) == 2 and count(s, Message) == 2
        assert count(s, Producer) == 1


def test_listing_code_exhaustion_is_a_market_error(database, monkeypatch):
    with database.session() as s:
        producer = register(s)
        taken, _ = new_listing(s, producer)
        monkeypatch.setattr(market.secrets, "randbelow", lambda n: int(taken.code) - 100_000)
        with pytest.raises(MarketError) as caught:
            new_listing(s, producer)
    assert caught.value.code == "no_code"


def test_services_do_not_commit(database):
    with pytest.raises(RuntimeError):
        with database.session() as s:
            producer = register(s)
            new_listing(s, producer)
            raise RuntimeError("the USSD hop failed after the service call")
    with database.session() as s:
        assert count(s, Producer) == 0 and count(s, Listing) == 0 and count(s, Message) == 0


def test_listings_of_returns_active_ones_newest_first(database):
    with database.session() as s:
        producer = register(s)
        other = register(s, phone=OTHER_PHONE)
        first, _ = new_listing(s, producer)
        second, _ = new_listing(s, producer, code="beans")
        third, _ = new_listing(s, producer, code="maize")
        new_listing(s, other)
        # Same-second inserts must still come out newest first.
        base = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
        for offset, listing in enumerate((first, second, third)):
            listing.created_at = base + timedelta(minutes=offset)
        market.withdraw_listing(s, producer_id=producer.id, listing_id=second.id)
    with database.session() as s:
        assert [l.id for l in market.listings_of(s, producer.id)] == [third.id, first.id]


def test_get_own_listing_checks_existence_and_owner(database):
    with database.session() as s:
        producer = register(s)
        other = register(s, phone=OTHER_PHONE)
        listing, _ = new_listing(s, producer)
        assert market.get_own_listing(s, producer.id, listing.id).id == listing.id
        with pytest.raises(NotFound):
            market.get_own_listing(s, producer.id, listing.id + 1000)
        with pytest.raises(NotOwner) as caught:
            market.get_own_listing(s, other.id, listing.id)
    assert caught.value.code == "not_owner"


def test_update_listing_changes_quantity_and_price(database):
    with database.session() as s:
        producer = register(s)
        listing, _ = new_listing(s, producer, quantity=50, price=700)
        created = listing.updated_at
    with database.session() as s:
        market.update_listing(s, producer_id=producer.id, listing_id=listing.id, quantity=80)
        market.update_listing(s, producer_id=producer.id, listing_id=listing.id, unit_price=650)
    with database.session() as s:
        stored = s.get(Listing, listing.id)
        assert (stored.quantity, stored.unit_price) == (80, 650)
        assert stored.updated_at >= created


def test_update_listing_validates_owner_values_and_status(database):
    with database.session() as s:
        producer = register(s)
        other = register(s, phone=OTHER_PHONE)
        listing, _ = new_listing(s, producer)
        with pytest.raises(NotOwner):
            market.update_listing(s, producer_id=other.id, listing_id=listing.id, quantity=5)
        with pytest.raises(InvalidInput):
            market.update_listing(s, producer_id=producer.id, listing_id=listing.id, quantity=0)
        with pytest.raises(InvalidInput):
            market.update_listing(s, producer_id=producer.id, listing_id=listing.id, unit_price=-5)
        market.withdraw_listing(s, producer_id=producer.id, listing_id=listing.id)
        with pytest.raises(MarketError) as caught:
            market.update_listing(s, producer_id=producer.id, listing_id=listing.id, quantity=5)
        assert caught.value.code == "not_active"
        assert s.get(Listing, listing.id).quantity == 50


def test_withdraw_twice_is_harmless_and_checks_owner(database):
    with database.session() as s:
        producer = register(s)
        other = register(s, phone=OTHER_PHONE)
        listing, _ = new_listing(s, producer)
        with pytest.raises(NotOwner):
            market.withdraw_listing(s, producer_id=other.id, listing_id=listing.id)
    for _ in range(2):
        with database.session() as s:
            withdrawn = market.withdraw_listing(s, producer_id=producer.id, listing_id=listing.id)
            assert withdrawn.status == ListingStatus.WITHDRAWN
    with database.session() as s:
        assert s.get(Listing, listing.id).status == ListingStatus.WITHDRAWN
        assert market.listings_of(s, producer.id) == []


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "0 RWF"), (700, "700 RWF"), (18000, "18,000 RWF"), (1_234_567, "1,234,567 RWF")],
)
def test_format_rwf(amount, text):
    assert market.format_rwf(amount) == text


# --- SMS texts --------------------------------------------------------------------------


def test_render_fills_placeholders_and_falls_back_to_english():
    values = dict(code="1", product="P", quantity="2", unit="kg", price="3 RWF", total="6 RWF", dial="*1#")
    assert smstexts.render("listing_receipt", "rw", **values).startswith("Isoko: igicuruzwa 1")
    assert smstexts.render("listing_receipt", "sw", **values).startswith("Isoko: listing 1")
    with pytest.raises(KeyError):
        smstexts.render("listing_receipt", "en", code="1")
    with pytest.raises(KeyError):
        smstexts.render("no_such_kind", "en")


def test_unit_labels():
    assert smstexts.unit_label("kg", "rw") == "kg"
    assert smstexts.unit_label("piece", "fr") == "pce"
    assert smstexts.unit_label("litre", "en") == "litre"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),  # extension characters take two septets
        ("{" * 81, 2),
        ("é" * 160, 1),  # é is in GSM-7
        ("ç" + "a" * 69, 1),  # ç is not: UCS-2
        ("ç" + "a" * 70, 2),
        ("ç" + "a" * 133, 2),
        ("ç" + "a" * 134, 3),
        ("\U0001F600" * 35, 1),  # an emoji is two UTF-16 units
        ("\U0001F600" * 36, 2),
    ],
)
def test_segments(text, parts):
    assert smstexts.segments(text) == parts


def test_demo_receipts_fit_one_sms_in_every_language(database):
    with database.session() as s:
        producers = [
            register(s, phone=f"+25078800000{i}", language=lang)
            for i, lang in enumerate(("rw", "en", "fr"), start=1)
        ]
        for producer, item in itertools.product(producers, load_catalogue()):
            grade = item["grades"][0]["code"] if item["grades"] else None
            _, message = new_listing(
                s, producer, code=item["code"], grade=grade, quantity=12_500,
                price=item["reference_price"],
            )
            assert message.segments == 1, message.text


@pytest.mark.parametrize("price, ok", [(139, False), (140, True), (700, True), (3500, True), (3501, False),
                                       (1, False)])
def test_a_price_far_from_the_reference_is_refused_with_the_range(database, price, ok):
    """Coffee cherry's reference is 700 RWF: 20 % to 500 % is 140 to 3,500."""
    with database.session() as s:
        producer = register(s)
        if ok:
            listing, _ = new_listing(s, producer, price=price)
            assert listing.unit_price == price
            return
        with pytest.raises(rules.PriceOutOfRange) as far:
            new_listing(s, producer, price=price)
        assert (far.value.low, far.value.high, far.value.reference) == (140, 3500, 700)
        assert "140" in str(far.value) and "3,500" in str(far.value)
        assert count(s, Listing) == 0


def test_price_bounds_are_set_per_product_and_hold_on_a_change_too(database):
    with database.session() as s:
        producer = register(s)
        product = product_by_code(s, "coffee_cherry")
        product.price_floor_percent, product.price_ceiling_percent = 50, 150
        assert rules.price_bounds(product) == (350, 1050)
        listing, _ = new_listing(s, producer, price=700)
        with pytest.raises(rules.PriceOutOfRange):
            market.update_listing(s, producer_id=producer.id, listing_id=listing.id, unit_price=1)
        assert market.update_listing(s, producer_id=producer.id, listing_id=listing.id,
                                     unit_price=1000).unit_price == 1000


def test_the_buy_list_is_read_in_price_order_without_a_sort(database):
    """`offers` (cheapest first, 200 at most) walks the listings' index in its
    order and stops at the limit, instead of sorting every active offer of
    the product: no sort step in either database's plan."""
    statements = []
    with database.session() as s:
        product = product_by_code(s, "beans")
        seller = register(s)
        s.add_all(Listing(code=str(500000 + i), producer_id=seller.id, product_id=product.id,
                          quantity=10, unit_price=900 - i, status=ListingStatus.ACTIVE) for i in range(30))
        s.flush()
        connection = s.connection()
        if database.dialect == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # as with a big table
        listen = lambda *args: statements.append((args[2], args[3]))  # noqa: E731
        sa_event.listen(connection, "before_cursor_execute", listen)
        prices_seen = [listing.unit_price for listing, _ in market.offers(s, product.id, limit=5)]
        sa_event.remove(connection, "before_cursor_execute", listen)
        assert prices_seen == [871, 872, 873, 874, 875]
        statement, parameters = statements[-1]
        explain = "EXPLAIN QUERY PLAN " if database.dialect == "sqlite" else "EXPLAIN "
        plan = "\n".join(str(row) for row in connection.exec_driver_sql(explain + statement, parameters))
    assert "ix_listings_product_price" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
