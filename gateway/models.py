"""The SQL schema: districts, catalogue, producers, listings, messages, menu versions.

Conventions: money is an integer number of RWF; phone numbers are E.164
strings (see `gateway.phones`); status-like columns hold the value of a
`StrEnum` (stored as VARCHAR, so adding a value needs no ALTER TYPE); every
datetime is timezone-aware UTC, also on SQLite (see `UTCDateTime`).
Any change here needs an Alembic revision in `gateway/migrations/versions`.
"""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    types,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(types.TypeDecorator):
    """A DateTime that only stores and returns timezone-aware UTC values.

    SQLite keeps no offset and hands back naive datetimes; this type reattaches
    UTC on the way out and refuses naive values on the way in, so code never
    compares naive with aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Language(enum.StrEnum):
    RW = "rw"
    EN = "en"
    FR = "fr"


# Plain strings: `"rw" in Language` is a TypeError before Python 3.12.
LANGUAGES = frozenset(lang.value for lang in Language)


class Unit(enum.StrEnum):
    KG = "kg"
    PIECE = "piece"


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    SOLD_OUT = "sold_out"


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker; the provider may have it
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


def _str_enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    """A VARCHAR column holding the values (not names) of a StrEnum.

    native_enum=False and no CHECK constraint: PostgreSQL and SQLite store the
    same VARCHAR, and adding a status is a code change, not a migration.
    """
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# Deterministic constraint names, so later migrations (and SQLite batch mode)
# can refer to constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class District(Base):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    province_en: Mapped[str] = mapped_column(String(40))
    province_rw: Mapped[str] = mapped_column(String(40))


class Product(Base):
    """A catalogue entry the operator runs; `grades` is a list of
    `{"code", "name_rw", "name_en", "name_fr"}` dicts, empty when ungraded."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_rw: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(40))
    name_fr: Mapped[str] = mapped_column(String(40))
    unit: Mapped[Unit] = mapped_column(_str_enum(Unit))
    grades: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reference_price: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def name(self, lang: str) -> str:
        """The product's name in `lang` (rw/en/fr), English when missing."""
        value = getattr(self, f"name_{lang}", None) if lang in LANGUAGES else None
        return value or self.name_en

    def grade_codes(self) -> list[str]:
        """The codes of this product's grades, in catalogue order."""
        return [grade["code"] for grade in self.grades or []]

    def grade_name(self, code: str, lang: str) -> str:
        """The name of grade `code` in `lang`, falling back to English then the code.

        Raises KeyError when the product has no such grade.
        """
        for grade in self.grades or []:
            if grade["code"] == code:
                return grade.get(f"name_{lang}") or grade.get("name_en") or code
        raise KeyError(code)


class Producer(Base):
    __tablename__ = "producers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    language: Mapped[Language] = mapped_column(_str_enum(Language, 2))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Listing(Base):
    """Goods a producer offers; `code` is the 6 digits users type on USSD."""

    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_producer_status", "producer_id", "status"),
        Index("ix_listings_product_status", "product_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    grade: Mapped[str | None] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    status: Mapped[ListingStatus] = mapped_column(
        _str_enum(ListingStatus), default=ListingStatus.ACTIVE
    )
    # Set by callers that may retry (a replayed USSD confirm, a platform API
    # call): the same key never creates a second listing.
    idem_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Message(Base):
    """An outbound SMS; the row is the source of truth, the RQ job only a trigger."""

    __tablename__ = "messages"
    __table_args__ = (
        # The sweeper and the console look messages up by status and age.
        Index("ix_messages_status_created_at", "status", "created_at"),
        # Delivery reports find their message by the provider's id.
        Index("ix_messages_provider_message_id", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[Language] = mapped_column(_str_enum(Language, 2))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[MessageStatus] = mapped_column(
        _str_enum(MessageStatus), default=MessageStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    cost: Mapped[str | None] = mapped_column(String(32))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Delivery, from the provider's reports: Sent → Submitted → Buffered →
    # Success | Failed | Rejected | AbsentSubscriber | Expired; only moves forward.
    delivery_status: Mapped[str | None] = mapped_column(String(24))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str | None] = mapped_column(String(16))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MenuVersion(Base):
    """A published menu definition; rows are never edited, only added."""

    __tablename__ = "menu_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class MenuHead(Base):
    """The version of each menu that new sessions get; rollback moves it back."""

    __tablename__ = "menu_heads"
    __table_args__ = (
        # The head can only point at a version that exists.
        ForeignKeyConstraint(
            ["name", "version"], ["menu_versions.name", "menu_versions.version"]
        ),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Models of the other concerns live in their own modules; importing them here
# puts every table on Base.metadata and lets callers import from one place.
from gateway.models_trade import ApiKey, Order, OrderEvent, OrderStatus  # noqa: E402,F401
from gateway.models_console import AuditEntry, Draft, Operator, Role  # noqa: E402,F401
from gateway.models_messaging import (  # noqa: E402,F401
    DeliveryReport,
    InboundSms,
    OptOut,
    UssdSessionLog,
)
