"""Wants (buy requests) and the pairs of want and listing a buyer or a
seller was told about.

A want is posted by a registered USSD user (`buyer_id`, their phone and
language copied in) or through the API (`api_key_id`, with an optional
phone to text). `WantMatch` holds one row per (want, listing) ever, unique:
that a pair was announced once is a database fact, whichever side of it
arrived second and however often a job runs.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.models import Base, Language, UTCDateTime, str_enum, utcnow


class WantStatus(enum.StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"  # the buyer found what they wanted
    CLOSED = "closed"  # the buyer gave up on it
    EXPIRED = "expired"  # its valid-until date passed (the periodic expiry)


class Want(Base):
    """What a buyer wants: product (and grade, or any grade when None), a
    quantity, the most they pay per unit, a district (or anywhere when None),
    until `expires_at`. `matched_at` is set when the job that tells the
    sellers of matching listings has run (None: still to run)."""

    __tablename__ = "wants"
    __table_args__ = (
        # The matching of a new listing reads open wants of its product,
        # oldest first: this index gives them in that order, no sort.
        Index("ix_wants_product_id_status_id", "product_id", "status", "id"),
        # The expiry reads open wants by due time.
        Index("ix_wants_status_expires_at", "status", "expires_at"),
        Index("ix_wants_buyer_id_status", "buyer_id", "status"),
        Index("ix_wants_api_key_id_id", "api_key_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    grade: Mapped[str | None] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    max_price: Mapped[int] = mapped_column(Integer)  # RWF per unit
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    # Who gets the SMS: the USSD buyer's phone, or the one an API caller gave
    # (None: no SMS, the API caller reads its matches).
    phone: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[Language] = mapped_column(str_enum(Language, 2))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[WantStatus] = mapped_column(str_enum(WantStatus), default=WantStatus.OPEN)
    idem_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WantMatch(Base):
    """A listing that matched a want, announced once: to the buyer when the
    listing came second (`notified` "buyer"), to the seller when the want did
    ("seller"). The unique pair is what keeps a second SMS from ever going."""

    __tablename__ = "want_matches"
    __table_args__ = (
        UniqueConstraint("want_id", "listing_id"),
        Index("ix_want_matches_listing_id", "listing_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    want_id: Mapped[int] = mapped_column(ForeignKey("wants.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    notified: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
