"""Price alerts: who asked to hear of a product's reference price.

Apart from `gateway.market.models` so the market's core tables and this
feature change independently.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.models import Base, UTCDateTime, utcnow


class PriceAlert(Base):
    """One subscriber of one product's reference price. `basis_price` is the
    price the subscriber last heard of (at subscription, then in each alert):
    the next alert goes out when the reference is more than 5 % away from it,
    and at most one a day (`last_sent_at`)."""

    __tablename__ = "price_alerts"
    __table_args__ = (UniqueConstraint("producer_id", "product_id", name="uq_price_alerts_producer_product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    basis_price: Mapped[int] = mapped_column(Integer)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
