"""Order events on their way out: the outbox, and the webhooks buyer platforms
follow their orders with, their deliveries and every attempt.

The tables live here, next to `OrderEvent` and `ApiKey`, because the outbox
row is written by the orders service in the transaction that changes the
order (`service._event`): an event that commits is in the outbox, one that
rolls back never was. The API's delivery jobs (`gateway.api.deliveries`)
fan each outbox row out to deliveries and delete it, in one transaction.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.core.models import Base, UTCDateTime, str_enum, utcnow
from gateway.orders.models import OrderEvent


class OrderEventOutbox(Base):
    """An order event not yet handed to the webhooks (one row per event, deleted
    by the fan-out that creates its deliveries)."""

    __tablename__ = "order_event_outbox"

    order_event_id: Mapped[int] = mapped_column(ForeignKey("order_events.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[OrderEvent] = relationship()


class Webhook(Base):
    """A buyer platform's subscription: order events of its key, POSTed to `url`.

    `secret` signs the deliveries; it must be read back to sign, so unlike an
    API key it is stored as it is (see the README's webhook section)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # to be attempted at next_attempt_at
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # not accepted within the maximum age
    CANCELLED = "cancelled"  # its webhook was deleted first


class WebhookDelivery(Base):
    """One event for one webhook. `payload` is the exact body, fixed at fan-out,
    so every attempt sends (and signs) the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "order_event_id"),
        # The dispatcher reads pending deliveries by due time.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"), index=True)
    order_event_id: Mapped[int] = mapped_column(ForeignKey("order_events.id"))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))

    webhook: Mapped[Webhook] = relationship()
    attempt_rows: Mapped[list["WebhookAttempt"]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id")


class WebhookAttempt(Base):
    """One POST of a delivery: when, how long, what came back."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_rows")
