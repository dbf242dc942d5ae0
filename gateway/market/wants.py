"""Wants (buy requests): post, read, close, expire.

Like the rest of `gateway.market`, every function takes the caller's
`Session` and never commits. Matching a want against the listings (and a
listing against the wants) is `gateway.market.matching`, run by the jobs of
`gateway.market.want_jobs` after the commit, never inside a USSD hop: the
caller queues `want_jobs.enqueue_want(redis, want.id)` once it committed.

A want's grade may be None ("any grade") even for a graded product; its
district may be None ("anywhere"). It is open until its buyer closes it
(fulfilled or not) or its `expires_at` passes (`expire_due`, periodic).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.core.models import utcnow
from gateway.market import rules
from gateway.market.models import Product
from gateway.market.rules import InvalidInput, MarketError, NotFound
from gateway.market.want_models import Want, WantMatch, WantStatus

DEFAULT_VALIDITY = timedelta(days=14)
MAX_VALIDITY = timedelta(days=90)
SHOWN_PER_BUYER = 20  # a USSD buyer's open wants listed on the phone, newest first


class WantClosed(MarketError):
    """The want is no longer open: `status` says what it became."""

    def __init__(self, status: str) -> None:
        super().__init__("want_closed", f"the want is already {status}")
        self.status = status


def post_want(s: Session, *, product_id: int, grade: str | None, quantity: int, max_price: int,
              language: str, channel: str, district_id: int | None = None,
              buyer_id: int | None = None, api_key_id: int | None = None,
              phone: str | None = None, expires_at: datetime | None = None,
              idem_key: str | None = None) -> tuple[Want, bool]:
    """Open a want; returns it and whether it is new (False: the want an
    earlier call with this `idem_key` made, unchanged).

    Validates: the product is on sale; `grade` is one of its grades or None
    (any); quantity 1..1,000,000; max_price 1..100,000,000 RWF; the district
    exists (or None: anywhere); the phone is E.164 (or None: no SMS);
    `expires_at` lies in the future and at most MAX_VALIDITY ahead (None:
    DEFAULT_VALIDITY from now). Raises InvalidInput, NotFound.
    """
    if idem_key is not None:
        previous = s.scalar(select(Want).where(Want.idem_key == idem_key))
        if previous is not None:
            return previous, False
    product = s.get(Product, product_id)
    if product is None or not product.active:
        raise NotFound("no such product on sale")
    now = utcnow()
    want = Want(
        product_id=product.id, grade=_grade(product, grade),
        quantity=rules.check_quantity(quantity), max_price=rules.check_price(max_price),
        district_id=rules.check_district(s, district_id) if district_id is not None else None,
        buyer_id=buyer_id, api_key_id=api_key_id,
        phone=rules.check_phone(phone) if phone is not None else None,
        language=rules.check_language(language), channel=channel, status=WantStatus.OPEN,
        idem_key=idem_key, created_at=now, expires_at=_expiry(now, expires_at))
    try:
        # A savepoint: a twin request with the same key must not poison the
        # caller's transaction; the twin's want is the answer then.
        with s.begin_nested():
            s.add(want)
    except IntegrityError:
        winner = s.scalar(select(Want).where(Want.idem_key == idem_key)) if idem_key else None
        if winner is None:
            raise
        return winner, False
    return want, True


def _grade(product: Product, grade: str | None) -> str | None:
    if grade is None:
        return None  # any grade, graded product or not
    return rules.check_grade(product, grade)


def _expiry(now: datetime, expires_at: datetime | None) -> datetime:
    if expires_at is None:
        return now + DEFAULT_VALIDITY
    if expires_at.tzinfo is None or not now < expires_at <= now + MAX_VALIDITY:
        raise InvalidInput("invalid_valid_until",
                           f"valid until must be in the future, at most {MAX_VALIDITY.days} days ahead")
    return expires_at


def close_want(s: Session, want: Want, *, fulfilled: bool) -> Want:
    """Close an open want: `fulfilled` (the buyer found it) or just closed.
    Raises WantClosed for a want no longer open (expired included)."""
    s.refresh(want, with_for_update=True)
    if want.status == WantStatus.OPEN and want.expires_at <= utcnow():
        want.status = WantStatus.EXPIRED  # past its date, not swept yet
    if want.status != WantStatus.OPEN:
        s.flush()
        raise WantClosed(str(want.status))
    want.status = WantStatus.FULFILLED if fulfilled else WantStatus.CLOSED
    want.closed_at = utcnow()
    s.flush()
    return want


def get_buyers_want(s: Session, buyer_id: int, want_id: int) -> Want:
    """The USSD buyer's own want; NotFound for anyone else's."""
    want = s.get(Want, want_id)
    if want is None or want.buyer_id != buyer_id:
        raise NotFound("no such want")
    return want


def open_wants_of(s: Session, buyer_id: int) -> list[Want]:
    """The USSD buyer's open wants, newest first (at most SHOWN_PER_BUYER)."""
    query = (select(Want).where(Want.buyer_id == buyer_id, Want.status == WantStatus.OPEN,
                                Want.expires_at > utcnow())
             .order_by(Want.id.desc()).limit(SHOWN_PER_BUYER))
    return list(s.scalars(query))


def matched_listing_ids(s: Session, want_ids: list[int]) -> dict[int, list[int]]:
    """The listings each want was matched with, oldest match first: one query."""
    found: dict[int, list[int]] = {want_id: [] for want_id in want_ids}
    if want_ids:
        rows = s.execute(select(WantMatch.want_id, WantMatch.listing_id)
                         .where(WantMatch.want_id.in_(want_ids)).order_by(WantMatch.id))
        for want_id, listing_id in rows:
            found[want_id].append(listing_id)
    return found


def expire_due(s: Session, now: datetime | None = None) -> int:
    """Every open want past its date becomes expired, in one UPDATE (the
    index on status and expires_at finds them). Idempotent; returns how many."""
    now = now or utcnow()
    result = s.execute(update(Want).where(Want.status == WantStatus.OPEN, Want.expires_at <= now)
                       .values(status=WantStatus.EXPIRED, closed_at=now)
                       .execution_options(synchronize_session=False))
    return result.rowcount or 0
