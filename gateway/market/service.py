"""Marketplace services: producers, catalogue, listings, listing receipts.

Every function takes a SQLAlchemy `Session` first and never commits: the
caller owns the transaction (one per USSD hop or API call), so a listing and
its receipt `Message` are saved together or not at all. Phone numbers are
E.164 already (normalised at the edge by `gateway.phones`). Business errors
raise `MarketError` subclasses carrying a stable `code` for the caller to map
to a screen or an HTTP status.

After commit, the caller enqueues the receipt (`workers.queues.enqueue_sms`):
the job re-reads the row, so it must exist when the job runs.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from gateway.core.models import utcnow
from gateway.market import rules
from gateway.market.models import District, Listing, ListingStatus, Producer, Product

# Re-exported: callers catch `market.MarketError` and its subclasses.
from gateway.market.rules import InvalidInput, MarketError, NotFound, NotOwner  # noqa: F401
from gateway.sms import texts as smstexts
from gateway.sms.models import Message, MessageStatus

# The dial string printed in receipts; callers pass their own service code.
DEFAULT_SERVICE_CODE = "*384*7#"

# Codes start at 100000: a leading 0 would read as the "back" key on USSD.
CODE_LOW, CODE_HIGH = 100_000, 999_999
CODE_ATTEMPTS = 8


# --- producers ---------------------------------------------------------------


def find_producer(s: Session, phone: str) -> Producer | None:
    """The producer registered with this E.164 phone, or None."""
    return s.scalar(select(Producer).where(Producer.phone == phone))


class Profile(NamedTuple):
    """Who a registered caller is, as the hop needs it."""

    id: int
    name: str
    language: str
    district_id: int


# Who a caller is, as plain columns: built once, so a lookup costs no SQL
# expression building and no ORM object.
_PROFILE = select(Producer.id, Producer.name, Producer.language, Producer.district_id).where(
    Producer.phone == bindparam("phone"))


def find_profile(read_one: Callable[[Executable, dict], Sequence | None], phone: str) -> Profile | None:
    """The `Profile` of the producer registered with this E.164 phone, or
    None: one indexed SELECT through `read_one(statement, params)` (the
    hop's `Database.read_one`, or its session's when the hop has writes the
    lookup must see)."""
    row = read_one(_PROFILE, {"phone": phone})
    return None if row is None else Profile(row[0], row[1], str(row[2]), row[3])


def producer_count(s: Session) -> int:
    """How many producers are registered."""
    return s.scalar(select(func.count()).select_from(Producer))


def producer_phones(s: Session, batch: int = 1000) -> Iterator[list[str]]:
    """Every registered producer's E.164 phone, `batch` at a time, read as
    a stream (a large table is never held whole)."""
    rows = s.execute(select(Producer.phone).order_by(Producer.id).execution_options(yield_per=batch))
    for part in rows.scalars().partitions(batch):
        yield list(part)


def register_producer(
    s: Session,
    *,
    phone: str,
    name: str,
    district_id: int,
    language: str,
    consented_at: datetime,
) -> Producer:
    """Register a producer, or return the one already registered with `phone`
    unchanged (a redial or a replayed request must not fail or overwrite).

    Validates: phone is E.164, name is 2-60 characters once stripped with a letter, the
    district exists, language is rw/en/fr, consent time is timezone-aware.
    """
    existing = find_producer(s, phone)
    if existing is not None:
        return existing
    producer = Producer(
        phone=rules.check_phone(phone),
        name=rules.check_name(name),
        district_id=rules.check_district(s, district_id),
        language=rules.check_language(language),
        consented_at=rules.check_aware(consented_at),
    )
    try:
        # A savepoint: a concurrent registration of the same phone must not
        # poison the caller's transaction.
        with s.begin_nested():
            s.add(producer)
    except IntegrityError:
        winner = find_producer(s, phone)
        if winner is None:
            raise
        return winner
    return producer


# --- catalogue ----------------------------------------------------------------


def products(s: Session) -> list[Product]:
    """Active products in the operator's order."""
    query = select(Product).where(Product.active.is_(True)).order_by(Product.position, Product.id)
    return list(s.scalars(query))


def districts(s: Session) -> list[District]:
    """All districts by name."""
    return list(s.scalars(select(District).order_by(District.name)))


def get_product(s: Session, product_id: int) -> Product:
    """The product with this id (active or not); raises NotFound."""
    product = s.get(Product, product_id)
    if product is None:
        raise NotFound("no such product")
    return product


# --- listings -----------------------------------------------------------------


def create_listing(
    s: Session,
    *,
    producer_id: int,
    product_id: int,
    grade: str | None,
    quantity: int,
    unit_price: int,
    idem_key: str | None = None,
    service_code: str = DEFAULT_SERVICE_CODE,
) -> tuple[Listing, Message | None]:
    """Create an active listing and its queued SMS receipt.

    With an `idem_key` already used by this producer, returns that listing and
    None: nothing is created twice (a key used by another producer raises
    `idem_key_conflict`). Validates quantity (1..1,000,000), unit_price
    (1..100,000,000 RWF, and within `rules.price_bounds` of the product's
    reference price: PriceOutOfRange otherwise) and grade (one of the product's grades, or None for
    an ungraded product); the product must be active.
    """
    if idem_key is not None:
        previous = _listing_by_idem_key(s, idem_key, producer_id)
        if previous is not None:
            return previous, None
    producer = s.get(Producer, producer_id)
    if producer is None:
        raise NotFound("no such producer")
    product = get_product(s, product_id)
    if not product.active:
        raise NotFound("product is not on sale")
    listing = Listing(
        producer_id=producer.id,
        product_id=product.id,
        grade=rules.check_grade(product, grade),
        quantity=rules.check_quantity(quantity),
        unit_price=rules.check_sane_price(product, unit_price),
        status=ListingStatus.ACTIVE,
        idem_key=idem_key,
    )
    raced = _insert_with_code(s, listing, idem_key, producer_id)
    if raced is not None:
        return raced, None
    message = _receipt(producer, product, listing, service_code, smstexts.published(s))
    s.add(message)
    s.flush()
    return listing, message


def _listing_by_idem_key(s: Session, idem_key: str, producer_id: int) -> Listing | None:
    listing = s.scalar(select(Listing).where(Listing.idem_key == idem_key))
    if listing is not None and listing.producer_id != producer_id:
        raise MarketError("idem_key_conflict", "idempotency key used by another producer")
    return listing


def _insert_with_code(
    s: Session, listing: Listing, idem_key: str | None, producer_id: int
) -> Listing | None:
    """Insert `listing` under a fresh random code, retrying on a collision.

    Returns None on success, or the listing a concurrent request created with
    the same idem_key (then `listing` is not inserted).
    """
    for _ in range(CODE_ATTEMPTS):
        listing.code = _free_code(s)
        try:
            with s.begin_nested():
                s.add(listing)
            return None
        except IntegrityError:
            # Either a concurrent request took our idem_key, or (rarely) our
            # code between the check and the insert: tell the two apart.
            if idem_key is not None:
                winner = _listing_by_idem_key(s, idem_key, producer_id)
                if winner is not None:
                    return winner
    raise MarketError("no_code", "could not allocate a listing code")


def random_code() -> str:
    """A random 6-digit code for listings and orders (never a leading 0)."""
    return str(secrets.randbelow(CODE_HIGH - CODE_LOW + 1) + CODE_LOW)


def _free_code(s: Session) -> str:
    for _ in range(CODE_ATTEMPTS):
        code = random_code()
        if s.scalar(select(Listing.id).where(Listing.code == code)) is None:
            return code
    raise MarketError("no_code", "could not allocate a listing code")


def _receipt(producer: Producer, product: Product, listing: Listing, service_code: str,
             published: dict | None) -> Message:
    lang = str(producer.language)
    unit = smstexts.unit_label(product.unit, lang, published)
    label = product.name(lang)
    if listing.grade is not None:
        label = f"{label} ({product.grade_name(listing.grade, lang)})"
    text = smstexts.render(
        "listing_receipt",
        lang,
        published,
        code=listing.code,
        product=label,
        quantity=f"{listing.quantity:,}",
        unit=unit,
        price=format_rwf(listing.unit_price),
        total=format_rwf(listing.quantity * listing.unit_price),
        dial=service_code,
    )
    return Message(
        recipient=producer.phone,
        text=text,
        language=producer.language,
        kind="listing_receipt",
        status=MessageStatus.QUEUED,
        attempts=0,
        segments=smstexts.segments(text),
    )


def listings_of(s: Session, producer_id: int) -> list[Listing]:
    """The producer's active listings, newest first."""
    query = (
        select(Listing)
        .where(Listing.producer_id == producer_id, Listing.status == ListingStatus.ACTIVE)
        .order_by(Listing.created_at.desc(), Listing.id.desc())
    )
    return list(s.scalars(query))


def offers(s: Session, product_id: int, *, exclude_producer: int | None = None,
           limit: int = 200) -> list[tuple[Listing, int]]:
    """Active listings of a product with their seller's district id, cheapest
    first (then oldest), leaving out `exclude_producer`'s own."""
    query = (
        select(Listing, Producer.district_id)
        .join(Producer, Producer.id == Listing.producer_id)
        .where(Listing.product_id == product_id, Listing.status == ListingStatus.ACTIVE,
               Listing.quantity > 0)
        .order_by(Listing.unit_price, Listing.created_at, Listing.id)
        .limit(limit)
    )
    if exclude_producer is not None:
        query = query.where(Listing.producer_id != int(exclude_producer))
    return [(listing, district_id) for listing, district_id in s.execute(query)]


def listing_on_sale(s: Session, code: str) -> Listing | None:
    """The active listing with this code and something left, or None."""
    listing = s.scalar(select(Listing).where(Listing.code == code))
    if listing is None or listing.status != ListingStatus.ACTIVE or listing.quantity <= 0:
        return None
    return listing


def get_own_listing(s: Session, producer_id: int, listing_id: int) -> Listing:
    """The listing, if it belongs to the producer; raises NotFound / NotOwner."""
    listing = s.get(Listing, listing_id)
    if listing is None:
        raise NotFound("no such listing")
    if listing.producer_id != producer_id:
        raise NotOwner()
    return listing


def update_listing(
    s: Session,
    *,
    producer_id: int,
    listing_id: int,
    quantity: int | None = None,
    unit_price: int | None = None,
) -> Listing:
    """Change the quantity and/or price of the producer's active listing.

    Raises `not_active` for a withdrawn or sold-out listing, PriceOutOfRange
    for a price far from the product's reference.
    """
    listing = get_own_listing(s, producer_id, listing_id)
    if listing.status != ListingStatus.ACTIVE:
        raise MarketError("not_active", "only an active listing can be changed")
    if quantity is not None:
        listing.quantity = rules.check_quantity(quantity)
    if unit_price is not None:
        listing.unit_price = rules.check_sane_price(get_product(s, listing.product_id), unit_price)
    listing.updated_at = utcnow()
    s.flush()
    return listing


def withdraw_listing(s: Session, *, producer_id: int, listing_id: int) -> Listing:
    """Withdraw the producer's listing. Withdrawing twice, or a sold-out
    listing, changes nothing and is not an error."""
    listing = get_own_listing(s, producer_id, listing_id)
    if listing.status == ListingStatus.ACTIVE:
        listing.status = ListingStatus.WITHDRAWN
        listing.updated_at = utcnow()
        s.flush()
    return listing


def pause_listings(s: Session, phone: str) -> int:
    """Take the listings of the producer registered with `phone` off sale
    because they opted out of SMS: they would never hear of an order. Active
    and sold-out listings are paused (a sold-out one would come back on sale
    when an order expires); withdrawn ones are left alone. Returns how many
    were paused (0 for a number that is not a producer's)."""
    producer = find_producer(s, phone)
    if producer is None:
        return 0
    paused = list(s.scalars(select(Listing).where(
        Listing.producer_id == producer.id,
        Listing.status.in_((ListingStatus.ACTIVE, ListingStatus.SOLD_OUT)))))
    for listing in paused:
        listing.status = ListingStatus.PAUSED
        listing.updated_at = utcnow()
    s.flush()
    return len(paused)


def restore_listings(s: Session, phone: str) -> int:
    """Put back exactly the listings `pause_listings` took off sale: on sale
    again, or sold out if nothing is left. Returns how many."""
    producer = find_producer(s, phone)
    if producer is None:
        return 0
    paused = list(s.scalars(select(Listing).where(Listing.producer_id == producer.id,
                                                  Listing.status == ListingStatus.PAUSED)))
    for listing in paused:
        listing.status = ListingStatus.ACTIVE if listing.quantity > 0 else ListingStatus.SOLD_OUT
        listing.updated_at = utcnow()
    s.flush()
    return len(paused)


def dial_string(service_code: str, code: str) -> str:
    """What a caller dials to open an order or a listing by its code:
    `*384*7#` + 482113 -> `*384*7*482113#` (the gateway opens the caller's
    order with that code, else the listing on sale with it)."""
    return f"{service_code.rstrip('#')}*{code}#"


def format_rwf(n: int) -> str:
    """Money as shown on USSD and SMS, ASCII only: 18000 -> "18,000 RWF"."""
    return f"{n:,} RWF"
