"""USSD tables: published menu versions with their heads, and one row per
USSD session: what the gateway saw of it, and what the provider reported.
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
    """One row per provider sessionId, written from two sides.

    The gateway's own account (`gateway.ussd.sessionlog`, drained from the
    hop stream): `started_at`, `last_hop_at`, `hop_count`, `last_hop`
    ("continue", "end" or "error"), `language`, `last_screen`. The provider's
    end-of-session notification (`gateway.ussd.events`), where it arrives:
    `status`, `cost`, `phone`, `duration_ms`, `hops` (the provider's count)
    and the rest. Either side may come first; neither erases the other's.
    """

    __tablename__ = "ussd_sessions"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    service_code: Mapped[str | None] = mapped_column(String(40))
    network_code: Mapped[str | None] = mapped_column(String(8))
    # The provider's status; None until (unless) its notification arrives.
    status: Mapped[str | None] = mapped_column(String(16), index=True)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[str | None] = mapped_column(String(32))
    last_screen: Mapped[str | None] = mapped_column(String(64))
    input: Mapped[str | None] = mapped_column(Text)
    last_reply: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_hop_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hop_count: Mapped[int | None] = mapped_column(Integer)
    last_hop: Mapped[str | None] = mapped_column(String(8))
    language: Mapped[str | None] = mapped_column(String(2))
    # The end-of-session notification's form as received (JSON pairs): a
    # field that could not be read is None above and kept here.
    raw: Mapped[str | None] = mapped_column(Text)
