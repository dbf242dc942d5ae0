"""Operators' broadcasts: one row per message sent to a segment, one row per
recipient's SMS (the `messages` row carries its delivery report)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.models import Base, UTCDateTime, utcnow


class Broadcast(Base):
    """A text sent to a segment: who sent it, to whom (`segment`, as the
    operator chose it: "product=beans district=Huye role=producer"), how many
    recipients got a message and how many opted-out numbers were skipped."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer)  # SMS parts of the text
    segment: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BroadcastRecipient(Base):
    """One recipient's message of a broadcast."""

    __tablename__ = "broadcast_recipients"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), index=True)
