"""USSD tables: published menu versions with their heads, and the
end-of-session notes the provider sends.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.models import Base, UTCDateTime, utcnow


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


class UssdSessionLog(Base):
    """The provider's end-of-session notification, one row per sessionId."""

    __tablename__ = "ussd_sessions"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    service_code: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[str | None] = mapped_column(String(32))
    last_screen: Mapped[str | None] = mapped_column(String(64))
    input: Mapped[str | None] = mapped_column(Text)
    last_reply: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
