"""Wants and their matching with listings, on SQLite and PostgreSQL: what
matches (product, grade, price, district, date, not one's own), one SMS per
pair ever, the bounds, closing and expiry, and the statements a match costs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from gateway.core.models import utcnow
from gateway.market import matching, wants
from gateway.market import service as market
from gateway.market.models import District, Producer, Product
from gateway.market.rules import InvalidInput, NotFound
from gateway.market.want_models import Want, WantMatch, WantStatus
from gateway.sms import texts as smstexts
from gateway.sms.models import Message

DIAL = "*384*7#"
BUYER, SELLER = "+250722000002", "+250788000001"


def district(s, name: str) -> int:
    return s.scalar(select(District.id).where(District.name == name))


def product(s, code: str) -> Product:
    return s.scalar(select(Product).where(Product.code == code))


def person(s, phone: str, where: str = "Huye", language: str = "en") -> Producer:
    return market.register_producer(s, phone=phone, name=f"P {phone[-4:]}", district_id=district(s, where),
                                    language=language, consented_at=utcnow())


def listing(s, seller: Producer, price: int, code: str = "beans", grade=None, quantity: int = 300):
    made, _ = market.create_listing(s, producer_id=seller.id, product_id=product(s, code).id,
                                    grade=grade, quantity=quantity, unit_price=price)
    return made


def want(s, buyer: Producer | None, max_price: int = 900, where: str | None = "Huye",
         code: str = "beans", grade=None, quantity: int = 200, **kw) -> Want:
    made, new = wants.post_want(
        s, product_id=product(s, code).id, grade=grade, quantity=quantity, max_price=max_price,
        district_id=district(s, where) if where else None, buyer_id=buyer.id if buyer else None,
        phone=buyer.phone if buyer else kw.pop("phone", None),
        language=str(buyer.language) if buyer else "en", channel="ussd" if buyer else "api", **kw)
    assert new
    return made


def sms_to(s, phone: str, kind: str) -> list[str]:
    return list(s.scalars(select(Message.text).where(Message.recipient == phone, Message.kind == kind)
                          .order_by(Message.id)))


@pytest.fixture
def s(database):
    with database.session() as session:
        yield session


# --- a listing after the want (issue 10's acceptance, the service half) -------------


def test_a_listing_at_or_under_the_maximum_in_the_district_tells_the_buyer_with_its_dial_string(s):
    buyer, seller = person(s, BUYER), person(s, SELLER)
    wanted = want(s, buyer, 900, "Huye")
    on_sale = listing(s, seller, 850)
    sent = matching.match_listing(s, on_sale.id, DIAL)
    assert [m.recipient for m in sent] == [BUYER]
    text = sent[0].text
    assert f"*384*7*{on_sale.code}#" in text and "Beans" in text and "850 RWF/kg" in text
    assert "Huye" in text and sent[0].kind == "want_match" and sent[0].segments == 1
    pairs = s.execute(select(WantMatch.want_id, WantMatch.listing_id, WantMatch.notified)).all()
    assert pairs == [(wanted.id, on_sale.id, "buyer")]


@pytest.mark.parametrize("price, where", [(950, "Huye"), (850, "Gasabo"), (901, "Huye")])
def test_a_listing_over_the_maximum_or_elsewhere_tells_nobody(s, price, where):
    buyer, seller = person(s, BUYER), person(s, SELLER, where)
    want(s, buyer, 900, "Huye")
    assert matching.match_listing(s, listing(s, seller, price).id, DIAL) == []
    assert s.scalar(select(func.count()).select_from(WantMatch)) == 0


def test_the_exact_maximum_matches_and_a_want_for_anywhere_matches_every_district(s):
    buyer, seller = person(s, BUYER), person(s, SELLER, "Rubavu")
    want(s, buyer, 900, None)
    assert len(matching.match_listing(s, listing(s, seller, 900).id, DIAL)) == 1


def test_the_grade_must_be_the_wanted_one_unless_any_grade_is_wanted(s):
    buyer, other, seller = person(s, BUYER), person(s, "+250733000003"), person(s, SELLER)
    want(s, buyer, 3500, None, code="parchment_coffee", grade="A")
    want(s, other, 3500, None, code="parchment_coffee", grade=None)
    grade_b = listing(s, seller, 3200, code="parchment_coffee", grade="B")
    assert [m.recipient for m in matching.match_listing(s, grade_b.id, DIAL)] == ["+250733000003"]
    grade_a = listing(s, seller, 3200, code="parchment_coffee", grade="A")
    sent = matching.match_listing(s, grade_a.id, DIAL)
    assert sorted(m.recipient for m in sent) == sorted([BUYER, "+250733000003"])
    assert "(Grade A)" in sent[0].text


def test_another_product_a_closed_or_expired_want_and_ones_own_listing_do_not_match(s):
    buyer, seller = person(s, BUYER), person(s, SELLER)
    want(s, buyer, 900, "Huye", code="maize")
    closed = want(s, person(s, "+250733000005"), 900, "Huye")
    wants.close_want(s, closed, fulfilled=False)
    past = want(s, person(s, "+250733000006"), 900, "Huye")
    past.expires_at = utcnow() - timedelta(seconds=1)
    want(s, seller, 900, "Huye")  # the seller's own want
    s.flush()
    assert matching.match_listing(s, listing(s, seller, 850).id, DIAL) == []


def test_a_listing_is_announced_once_however_often_it_is_matched(s):
    buyer, seller = person(s, BUYER), person(s, SELLER)
    want(s, buyer, 900, "Huye")
    on_sale = listing(s, seller, 850)
    assert len(matching.match_listing(s, on_sale.id, DIAL)) == 1
    assert matching.match_listing(s, on_sale.id, DIAL) == []
    assert len(sms_to(s, BUYER, "want_match")) == 1


def test_a_listing_tells_at_most_the_bound_of_buyers_oldest_want_first(s, monkeypatch):
    monkeypatch.setattr(matching, "WANTS_PER_LISTING", 3)
    seller = person(s, SELLER)
    buyers = [person(s, f"+25073300{i:04}") for i in range(5)]
    for buyer in buyers:
        want(s, buyer, 900, "Huye")
    sent = matching.match_listing(s, listing(s, seller, 850).id, DIAL)
    assert [m.recipient for m in sent] == [b.phone for b in buyers[:3]]


def test_an_api_want_without_a_phone_is_matched_but_texts_nobody(s):
    seller = person(s, SELLER)
    wanted = want(s, None, 900, "Huye")
    on_sale = listing(s, seller, 850)
    assert matching.match_listing(s, on_sale.id, DIAL) == []
    assert wants.matched_listing_ids(s, [wanted.id]) == {wanted.id: [on_sale.id]}


def test_each_buyer_told_of_one_listing_gets_their_own_language_and_a_phoneless_want_is_recorded(s):
    buyers = {lang: person(s, f"+25073301000{i}", language=lang)
              for i, lang in enumerate(("fr", "rw", "en"))}
    coffee = {"code": "parchment_coffee", "grade": "A"}
    for buyer in buyers.values():
        want(s, buyer, 3500, "Huye", **coffee)
    silent = want(s, None, 3500, "Huye", **coffee)  # an API want without a phone, between them
    want(s, person(s, "+250733010009", language="rw"), 3500, "Huye", **coffee)
    on_sale = listing(s, person(s, SELLER), 3200, **coffee)
    sent = matching.match_listing(s, on_sale.id, DIAL)
    assert [m.recipient for m in sent] == [b.phone for b in buyers.values()] + ["+250733010009"]
    assert [m.language for m in sent] == ["fr", "rw", "en", "rw"]
    starts = {"fr": "Isoko: pour votre demande: Café parche (Classe A), 300 kg à 3,200 RWF/kg",
              "rw": "Isoko: ibyo washakaga: Ikawa ya parche (Icyiciro A), 300 kg ku 3,200 RWF/kg",
              "en": "Isoko: for your request: Parchment coffee (Grade A), 300 kg at 3,200 RWF/kg"}
    for message in sent:
        assert message.text.startswith(starts[message.language]), message.text
        assert f"*384*7*{on_sale.code}#" in message.text and message.kind == "want_match"
        assert message.segments == smstexts.segments(message.text)
    assert sent[1].text == sent[3].text != sent[0].text
    assert [m.id for m in sent] == sorted(m.id for m in sent)
    stored = {m.id: (m.recipient, m.text, m.language, m.segments, m.status)
              for m in s.scalars(select(Message).where(Message.kind == "want_match"))}
    assert stored == {m.id: (m.recipient, m.text, m.language, m.segments, "queued") for m in sent}
    assert wants.matched_listing_ids(s, [silent.id]) == {silent.id: [on_sale.id]}


def test_a_listing_tells_only_the_buyers_not_told_of_it_yet_and_a_repeat_tells_nobody(s):
    seller, first, second = person(s, SELLER), person(s, BUYER), person(s, "+250733020001")
    on_sale = listing(s, seller, 850)
    told = want(s, first, 900, "Huye")
    assert len(matching.match_want(s, told.id, DIAL)) == 2  # the pair (told, on_sale) exists now
    untold = want(s, second, 900, "Huye")
    assert [m.recipient for m in matching.match_listing(s, on_sale.id, DIAL)] == [second.phone]
    assert matching.match_listing(s, on_sale.id, DIAL) == []
    assert len(sms_to(s, BUYER, "want_match")) == 1 and len(sms_to(s, second.phone, "want_match")) == 1
    pairs = s.execute(select(WantMatch.want_id, WantMatch.notified)
                      .where(WantMatch.listing_id == on_sale.id).order_by(WantMatch.want_id)).all()
    assert [tuple(pair) for pair in pairs] == [(told.id, "seller"), (untold.id, "buyer")]


# --- a want after the listings ------------------------------------------------------


def test_a_new_want_tells_the_matching_sellers_and_the_buyer_the_cheapest(s):
    buyer = person(s, BUYER, language="fr")
    cheap, dear, far = person(s, SELLER), person(s, "+250788000007"), person(s, "+250788000008", "Gasabo")
    cheapest = listing(s, cheap, 820)
    listing(s, cheap, 840)  # the same seller's second: one SMS per seller
    listing(s, dear, 880)
    listing(s, dear, 950)  # over the maximum
    listing(s, far, 700)  # another district
    sent = matching.match_want(s, want(s, buyer, 900, "Huye").id, DIAL)
    to_sellers = [m for m in sent if m.kind == "want_seller"]
    assert sorted(m.recipient for m in to_sellers) == sorted([SELLER, "+250788000007"])
    assert "200 kg" in to_sellers[0].text and "900 RWF/kg" in to_sellers[0].text
    assert cheapest.code in to_sellers[0].text
    (to_buyer,) = [m for m in sent if m.kind == "want_match"]
    assert to_buyer.recipient == BUYER and f"*384*7*{cheapest.code}#" in to_buyer.text
    assert to_buyer.text.startswith("Isoko: pour votre demande: Haricots") and to_buyer.language == "fr"


def test_a_want_is_matched_once_and_its_pairs_are_never_announced_again(s):
    buyer, seller = person(s, BUYER), person(s, SELLER)
    on_sale = listing(s, seller, 850)
    wanted = want(s, buyer, 900, "Huye")
    assert len(matching.match_want(s, wanted.id, DIAL)) == 2
    assert matching.match_want(s, wanted.id, DIAL) == []  # a repeated job
    assert matching.match_listing(s, on_sale.id, DIAL) == []  # the other side: the pair exists
    assert len(sms_to(s, BUYER, "want_match")) == 1 and len(sms_to(s, SELLER, "want_seller")) == 1


def test_a_new_want_over_no_matching_listing_sends_nothing(s):
    buyer, seller = person(s, BUYER), person(s, SELLER)
    listing(s, seller, 950)
    assert matching.match_want(s, want(s, buyer, 900, "Huye").id, DIAL) == []


def test_a_new_want_tells_at_most_the_bound_of_sellers(s, monkeypatch):
    monkeypatch.setattr(matching, "SELLERS_PER_WANT", 2)
    sellers = [person(s, f"+25078800{i:04}") for i in range(4)]
    for i, seller in enumerate(sellers):
        listing(s, seller, 800 + i)
    sent = matching.match_want(s, want(s, person(s, BUYER), 900, "Huye").id, DIAL)
    assert sorted(m.recipient for m in sent if m.kind == "want_seller") == [sellers[0].phone, sellers[1].phone]


# --- posting, closing, expiry ----------------------------------------------------------


def test_a_want_is_valid_fourteen_days_by_default_and_refuses_bad_input(s):
    buyer = person(s, BUYER)
    made = want(s, buyer)
    assert timedelta(days=13, hours=23) < made.expires_at - made.created_at <= timedelta(days=14)
    with pytest.raises(InvalidInput):
        want(s, buyer, grade="Z", code="parchment_coffee")
    with pytest.raises(InvalidInput):
        want(s, buyer, max_price=0)
    with pytest.raises(InvalidInput):
        want(s, buyer, expires_at=utcnow() + timedelta(days=91))
    with pytest.raises(NotFound):
        wants.post_want(s, product_id=99999, grade=None, quantity=1, max_price=1, language="en",
                        channel="api")


def test_the_same_idempotency_key_makes_one_want(s):
    buyer = person(s, BUYER)
    first = want(s, buyer, idem_key="k1")
    again, new = wants.post_want(s, product_id=first.product_id, grade=None, quantity=5, max_price=5,
                                 language="en", channel="ussd", idem_key="k1")
    assert again.id == first.id and not new
    assert s.scalar(select(func.count()).select_from(Want)) == 1


def test_a_closed_want_cannot_close_again_and_an_expired_one_is_swept(s):
    buyer = person(s, BUYER)
    done = wants.close_want(s, want(s, buyer), fulfilled=True)
    assert done.status == WantStatus.FULFILLED and done.closed_at is not None
    with pytest.raises(wants.WantClosed):
        wants.close_want(s, done, fulfilled=False)
    old = want(s, buyer)
    old.expires_at = utcnow() - timedelta(minutes=1)
    s.flush()
    assert wants.expire_due(s) == 1 and wants.expire_due(s) == 0
    s.refresh(old)
    assert old.status == WantStatus.EXPIRED
    assert wants.open_wants_of(s, buyer.id) == []


# --- what a match costs --------------------------------------------------------------


def test_matching_a_listing_costs_the_same_statements_whatever_the_number_of_wants(s):
    seller = person(s, SELLER)
    counts = []
    for n in (1, 12):
        for i in range(n):
            want(s, person(s, f"+2507330{n:02}{i:03}"), 900, "Huye")
        on_sale = listing(s, seller, 850)
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(s.get_bind(), "before_cursor_execute", listen)
        try:
            matching.match_listing(s, on_sale.id, DIAL)
        finally:
            event.remove(s.get_bind(), "before_cursor_execute", listen)
        counts.append(len(statements))
    # PostgreSQL: the listing, then one statement for the wants, the pairs and
    # the messages; SQLite: the listing, the wants, the pairs, the messages.
    expected = 2 if s.get_bind().dialect.name == "postgresql" else 4
    assert counts == [expected, expected], counts


def test_every_want_text_fits_one_segment_for_a_usual_listing():
    for kind in ("want_match", "want_seller"):
        for lang in ("rw", "en", "fr"):
            text = smstexts.render(kind, lang, None, product="Ibishyimbo", quantity="1,200", unit="kg",
                                   price="1,500 RWF", district="Nyamasheke", dial="*384*7*482113#",
                                   code="482113")
            assert smstexts.segments(text) == 1, (kind, lang, len(text))
