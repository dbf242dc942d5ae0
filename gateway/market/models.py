"""The market's tables: districts, the product catalogue (with its price
history and version counter), producers, listings.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.models import LANGUAGES, Base, Language, UTCDateTime, str_enum, utcnow


class Unit(enum.StrEnum):
    KG = "kg"
    PIECE = "piece"


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    # Off sale because the seller opted out of SMS (STOP): they would never
    # hear of an order. Their START puts exactly these back.
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"
    SOLD_OUT = "sold_out"


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
    unit: Mapped[Unit] = mapped_column(str_enum(Unit))
    grades: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reference_price: Mapped[int] = mapped_column(Integer)
    # A listing's price must lie within these percentages of the reference
    # price (gateway.market.rules.price_bounds): 1 RWF for beans worth 900 is a typo.
    price_floor_percent: Mapped[int] = mapped_column(Integer, default=20, server_default="20")
    price_ceiling_percent: Mapped[int] = mapped_column(Integer, default=500, server_default="500")
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


class PriceChange(Base):
    """One change of a product's reference price: who, when, old -> new
    (`old_price` is None for the price a product was created with). `changed_by`
    is an operator's username or "cli:<login>"."""

    __tablename__ = "price_changes"
    __table_args__ = (Index("ix_price_changes_product", "product_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    old_price: Mapped[int | None] = mapped_column(Integer)
    new_price: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CatalogueVersion(Base):
    """One row (id 1) whose `version` goes up with every catalogue change in
    the change's own transaction: what every process compares its cached
    product list against (see `gateway.market.catalogue.version`)."""

    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Producer(Base):
    __tablename__ = "producers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))  # rules.NAME_MAX
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    language: Mapped[Language] = mapped_column(str_enum(Language, 2))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Listing(Base):
    """Goods a producer offers; `code` is the 6 digits users type on USSD."""

    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_producer_status", "producer_id", "status"),
        # The Buy list, cheapest first, read in index order (migration 0016).
        Index("ix_listings_product_price", "product_id", "status", "unit_price", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    grade: Mapped[str | None] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    status: Mapped[ListingStatus] = mapped_column(
        str_enum(ListingStatus), default=ListingStatus.ACTIVE
    )
    # Set by callers that may retry (a replayed USSD confirm, a platform API
    # call): the same key never creates a second listing.
    idem_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
