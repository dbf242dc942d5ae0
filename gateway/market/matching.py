"""Matching wants and listings, and the SMS each match sends.

A listing matches a want when it is the same product, the same grade (or
the want takes any grade), its price is at most the want's maximum, its
seller is in the want's district (or the want takes any), the want is open
and not past its date, and the seller is not the buyer.

Two directions, each run by a job after the commit that created one side
(`gateway.market.want_jobs`), never inside a USSD hop:

- `match_listing`: a new listing against the open wants, on the (product,
  status, id) index, oldest want first, at most WANTS_PER_LISTING; each
  buyer with a phone gets `want_match`.
- `match_want`: a new want against the listings on sale, cheapest first; the
  first listing of each seller, at most SELLERS_PER_WANT sellers, and each
  seller gets `want_seller`; the buyer gets one `want_match` naming the
  cheapest of them (not one per listing: they can see the rest under Buy).

Each pair is a `WantMatch` row inserted with ON CONFLICT DO NOTHING: only a
pair inserted now sends anything, so a job run twice, or a listing and a want
matched from both sides, never sends a second SMS for the same pair. Every
call costs a fixed number of SQL statements whatever the number of wants.
`match_listing` runs once per new listing, the hot one: on PostgreSQL it is
two statements, the listing (with its product, seller and district, as plain
columns) and `LISTING_MATCH_SQL`, which selects the wants, inserts the pairs
and inserts the messages in one round trip (data-modifying CTEs); the
`want_match` text depends only on the listing and the language, so it is
rendered once per language beforehand and each message takes its want's. On
SQLite (no data-modifying CTEs) it is the listing, the wants, one INSERT of
the pairs, one INSERT of the messages. Durability is the database's: nothing
here relaxes the commit (synchronous_commit stays as configured).
Like the services, these take the caller's session and never commit; they
return the queued messages (rows of `messages`: id, recipient, text, kind,
language, segments) for the caller to enqueue after commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.core.models import UTCDateTime, utcnow
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.market.service import dial_string, format_rwf
from gateway.market.want_models import Want, WantMatch, WantStatus
from gateway.sms import texts as smstexts
from gateway.sms.models import Message, MessageStatus

WANTS_PER_LISTING = 20  # buyers told of one new listing, oldest want first
SELLERS_PER_WANT = 10  # sellers told of one new want, cheapest listing first
LISTINGS_SCANNED = 50  # listings read to find those sellers (several may be one seller's)
NAME_SENT = 20  # a district name in an SMS



@dataclass(frozen=True)
class _Side:
    """One party to tell: where, in which language."""

    phone: str
    language: str


# --- a new listing --------------------------------------------------------------


def match_listing(s: Session, listing_id: int, service_code: str) -> list:
    """Record the open wants the listing matches and queue `want_match` to
    each buyer with a phone, in the buyer's language. Nothing for a listing
    no longer on sale."""
    params = listing_match_params(s, listing_id, service_code)
    if params is None:
        return []
    connection = s.connection()
    if connection.dialect.name == "postgresql":
        return connection.execute(_PG_LISTING_MATCH, params).all()
    wants = connection.execute(_WANTS, params).all()
    new = _record(s, [(want_id, listing_id) for want_id, _, _ in wants], "buyer")
    messages = [_message(_Side(phone, str(lang)), "want_match",
                         *_by_language(params, str(lang)))
                for want_id, phone, lang in wants if (want_id, listing_id) in new and phone]
    return _save(s, messages)


def listing_match_params(s: Session, listing_id: int, service_code: str) -> dict | None:
    """What matching the listing takes, as the parameters of
    `LISTING_MATCH_SQL`: the listing, its seller's district and phone, and
    its `want_match` text and segments in each language (`text_rw`,
    `segments_rw`...). None when it is not on sale. One statement."""
    # On the session's connection, as Core: these are plain columns, and the
    # ORM's result handling would double the statement's Python time. First
    # the flush a query through the session would make.
    s.flush()
    offer = s.connection().execute(_OFFER, {"listing_id": listing_id}).one_or_none()
    if offer is None or offer.status != ListingStatus.ACTIVE or offer.quantity <= 0:
        return None
    params = {"listing_id": offer.id, "product_id": offer.product_id,
              "unit_price": offer.unit_price, "grade": offer.grade,
              "district_id": offer.district_id, "seller_id": offer.producer_id,
              "seller_phone": offer.seller_phone, "open": WantStatus.OPEN.value,
              "now": utcnow(), "bound": WANTS_PER_LISTING, "notified": "buyer",
              "kind": "want_match", "queued": MessageStatus.QUEUED.value}
    goods, published = _Goods(offer), smstexts.published(s)
    for lang in smstexts.LANGUAGES:
        body = _offer_text(lang, goods, offer, offer.district, service_code, published)
        params[f"text_{lang}"], params[f"segments_{lang}"] = body, smstexts.segments(body)
    return params


def _by_language(params: dict, lang: str) -> tuple[str, int]:
    """The text and segments in `lang` (English for any other, as
    `smstexts.render` falls back); `_chosen_by_language` in SQL."""
    lang = lang if lang in smstexts.LANGUAGES else smstexts.FALLBACK_LANGUAGE
    return params[f"text_{lang}"], params[f"segments_{lang}"]


# The listing with what its text needs, as plain columns: no ORM object to
# build for a row read once (the product's names and grades are read fresh
# each time, so an operator's edit shows in the next SMS).
_OFFER = (
    select(Listing.id, Listing.code, Listing.product_id, Listing.producer_id, Listing.grade,
           Listing.quantity, Listing.unit_price, Listing.status, Product.name_rw,
           Product.name_en, Product.name_fr, Product.unit, Product.grades,
           Producer.phone.label("seller_phone"), Producer.district_id,
           District.name.label("district"))
    .join(Product, Product.id == Listing.product_id)
    .join(Producer, Producer.id == Listing.producer_id)
    .join(District, District.id == Producer.district_id)
    .where(Listing.id == bindparam("listing_id")))


class _Goods:
    """A product's names, grades and unit as read in a row of `_OFFER`,
    answering `name` and `grade_name` as a `Product` does."""

    name = Product.name
    grade_name = Product.grade_name

    def __init__(self, row) -> None:
        self.name_rw, self.name_en, self.name_fr = row.name_rw, row.name_en, row.name_fr
        self.grades, self.unit = row.grades, row.unit


# The open wants a listing matches, oldest first, at most :bound: (id,
# phone, language). The index on (product_id, status, id) gives them in
# order. A NULL :grade (a listing without grade) matches only the wants
# for any grade. Plain SQL that SQLite and PostgreSQL both run.
WANTS_SQL = """
    SELECT id, phone, language FROM wants
    WHERE product_id = :product_id AND status = :open AND max_price >= :unit_price
      AND expires_at > :now
      AND (grade IS NULL OR grade = :grade)
      AND (district_id IS NULL OR district_id = :district_id)
      AND (buyer_id IS NULL OR buyer_id <> :seller_id)
      AND (phone IS NULL OR phone <> :seller_phone)
    ORDER BY id LIMIT :bound"""


def _chosen_by_language(column: str) -> str:
    """SQL choosing the `:{column}_{lang}` parameter by the want's language,
    as `_by_language` does."""
    cases = " ".join(f"WHEN '{lang}' THEN :{column}_{lang}" for lang in sorted(smstexts.LANGUAGES))
    return f"CASE w.language {cases} ELSE :{column}_{smstexts.FALLBACK_LANGUAGE} END"


# PostgreSQL's match of a listing in one statement (data-modifying CTEs, which
# SQLite lacks): the wants, the pairs not recorded yet, and a message for each
# of those whose want has a phone, its text chosen by the want's language, ids
# in want order. Its text never changes, so the driver prepares it once per
# connection; its parameters are `listing_match_params`.
LISTING_MATCH_SQL = f"""
WITH w AS ({WANTS_SQL}
), p AS (
    INSERT INTO want_matches (want_id, listing_id, notified, created_at)
    SELECT id, :listing_id, :notified, :now FROM w
    ON CONFLICT (want_id, listing_id) DO NOTHING
    RETURNING want_id
), m AS (
    INSERT INTO messages (recipient, text, language, kind, segments, status, attempts,
                          created_at)
    SELECT w.phone, {_chosen_by_language("text")}, w.language, :kind,
           {_chosen_by_language("segments")}, :queued, 0, :now
    FROM p JOIN w ON w.id = p.want_id
    WHERE w.phone IS NOT NULL
    ORDER BY w.id
    RETURNING id, recipient, text, kind, language, segments
)
SELECT id, recipient, text, kind, language, segments FROM m ORDER BY id
"""
_WANTS = text(WANTS_SQL).bindparams(bindparam("now", type_=UTCDateTime()))
_PG_LISTING_MATCH = text(LISTING_MATCH_SQL).bindparams(
    bindparam("now", type_=UTCDateTime()),
    *(bindparam(f"text_{lang}", type_=String()) for lang in smstexts.LANGUAGES),
    *(bindparam(f"segments_{lang}", type_=Integer()) for lang in smstexts.LANGUAGES))


# --- a new want -----------------------------------------------------------------


def match_want(s: Session, want_id: int, service_code: str) -> list:
    """Record the listings on sale the want matches (first listing of each
    seller, at most SELLERS_PER_WANT sellers, cheapest first), queue
    `want_seller` to each seller and one `want_match` to the buyer for the
    cheapest. Runs once per want: `matched_at` is set, and a second call
    (a repeated job) does nothing."""
    want = s.get(Want, want_id, with_for_update=True)
    if want is None or want.status != WantStatus.OPEN or want.matched_at is not None:
        return []
    want.matched_at = utcnow()
    if want.expires_at <= want.matched_at:
        return []
    product = s.get(Product, want.product_id)
    rows = s.execute(_listings_for(want)).all()
    chosen, sellers = [], set()
    for listing, phone, language, district in rows:
        if listing.producer_id not in sellers and len(sellers) < SELLERS_PER_WANT:
            sellers.add(listing.producer_id)
            chosen.append((listing, _Side(phone, str(language)), district))
    new = _record(s, [(want.id, listing.id) for listing, _, _ in chosen], "seller")
    chosen = [entry for entry in chosen if (want.id, entry[0].id) in new]
    published = smstexts.published(s)
    messages = [_want_to_seller(side, product, want, listing, published)
                for listing, side, _ in chosen]
    if chosen and want.phone:
        cheapest, _, district = chosen[0]
        lang = str(want.language)
        messages.append(_message(_Side(want.phone, lang), "want_match",
                                 _offer_text(lang, product, cheapest, district, service_code,
                                             published)))
    return _save(s, messages)


def _listings_for(want: Want):
    query = (
        select(Listing, Producer.phone, Producer.language, District.name)
        .join(Producer, Producer.id == Listing.producer_id)
        .join(District, District.id == Producer.district_id)
        .where(Listing.product_id == want.product_id, Listing.status == ListingStatus.ACTIVE,
               Listing.quantity > 0, Listing.unit_price <= want.max_price)
        .order_by(Listing.unit_price, Listing.id).limit(LISTINGS_SCANNED))
    if want.grade is not None:
        query = query.where(Listing.grade == want.grade)
    if want.district_id is not None:
        query = query.where(Producer.district_id == want.district_id)
    if want.buyer_id is not None:
        query = query.where(Listing.producer_id != want.buyer_id)
    if want.phone is not None:
        query = query.where(Producer.phone != want.phone)
    return query


# --- the pairs and the texts ------------------------------------------------------


def _record(s: Session, pairs: list[tuple[int, int]], notified: str) -> set[tuple[int, int]]:
    """Insert the (want, listing) pairs not recorded yet, in one statement;
    returns those inserted now (the ones to announce)."""
    if not pairs:
        return set()
    now = utcnow()
    if s.get_bind().dialect.name == "postgresql":
        rows = s.execute(_PG_PAIRS, {"wants": [w for w, _ in pairs],
                                     "listings": [listing for _, listing in pairs],
                                     "notified": notified, "now": now})
    else:
        statement = (sqlite.insert(WantMatch)
                     .on_conflict_do_nothing(index_elements=["want_id", "listing_id"])
                     .returning(WantMatch.want_id, WantMatch.listing_id))
        rows = s.execute(statement, [{"want_id": w, "listing_id": listing, "notified": notified,
                                      "created_at": now} for w, listing in pairs])
    return {(w, listing) for w, listing in rows}


def _label(product: Product, grade: str | None, lang: str) -> str:
    label = product.name(lang)
    if grade is not None:
        try:
            label = f"{label} ({product.grade_name(grade, lang)})"
        except KeyError:  # a grade the operator has since removed: the code says it
            label = f"{label} ({grade})"
    return label


def _offer_text(lang: str, product: Product, listing: Listing, district: str, service_code: str,
                published: dict | None) -> str:
    unit = smstexts.unit_label(product.unit, lang, published)
    return smstexts.render("want_match", lang, published,
                           product=_label(product, listing.grade, lang),
                           quantity=f"{listing.quantity:,}", unit=unit,
                           price=format_rwf(listing.unit_price), district=district[:NAME_SENT],
                           dial=dial_string(service_code, listing.code))


def _want_to_seller(seller: _Side, product: Product, want: Want, listing: Listing,
                    published: dict | None) -> Message:
    unit = smstexts.unit_label(product.unit, seller.language, published)
    text = smstexts.render("want_seller", seller.language, published,
                           product=_label(product, want.grade, seller.language),
                           quantity=f"{want.quantity:,}", unit=unit,
                           price=format_rwf(want.max_price), code=listing.code)
    return _message(seller, "want_seller", text)


def _message(to: _Side, kind: str, text: str, segments: int | None = None) -> dict:
    return {"recipient": to.phone, "text": text, "language": to.language, "kind": kind,
            "status": MessageStatus.QUEUED, "attempts": 0,
            "segments": smstexts.segments(text) if segments is None else segments,
            "created_at": utcnow()}


# What the callers read of a queued message: its id to enqueue, the rest to check.
_RETURNED = (Message.id, Message.recipient, Message.text, Message.kind, Message.language,
             Message.segments)
_COLUMNS = ("recipient", "text", "language", "kind", "segments")

# On PostgreSQL both inserts take their rows as arrays (unnest): one short
# statement whatever the number of rows, which the driver parses once and
# keeps, where a VALUES list of 20 rows is a new long text to parse on every
# call (most of a match's time in bench/wants.py).
_PG_PAIRS = text(
    "INSERT INTO want_matches (want_id, listing_id, notified, created_at) "
    "SELECT w, l, :notified, :now FROM unnest(:wants, :listings) AS pair(w, l) "
    "ON CONFLICT (want_id, listing_id) DO NOTHING RETURNING want_id, listing_id"
).bindparams(bindparam("wants", type_=postgresql.ARRAY(Integer)),
             bindparam("listings", type_=postgresql.ARRAY(Integer)),
             bindparam("now", type_=UTCDateTime()))
_PG_MESSAGES = text(
    "INSERT INTO messages (recipient, text, language, kind, segments, status, attempts, "
    "created_at) SELECT r, t, l, k, n, :status, 0, :now "
    "FROM unnest(:recipient, :text, :language, :kind, :segments) AS m(r, t, l, k, n) "
    "RETURNING id, recipient, text, kind, language, segments"
).bindparams(*(bindparam(name, type_=postgresql.ARRAY(String)) for name in _COLUMNS[:4]),
             bindparam("segments", type_=postgresql.ARRAY(Integer)),
             bindparam("now", type_=UTCDateTime()))


def _save(s: Session, messages: list[dict]) -> list:
    """Insert the messages in one statement (the ORM would send one INSERT
    per row on SQLite) and return them as rows with `id`, `recipient`,
    `text`, `kind`, `language`, `segments`, by id."""
    if not messages:
        return []
    if s.get_bind().dialect.name == "postgresql":
        arrays = {name: [str(m[name]) if name != "segments" else m[name] for m in messages]
                  for name in _COLUMNS}
        rows = list(s.execute(_PG_MESSAGES, arrays | {"status": MessageStatus.QUEUED.value,
                                                      "now": utcnow()}))
    else:
        rows = list(s.execute(insert(Message).returning(*_RETURNED), messages))
    return sorted(rows, key=lambda row: row.id)
