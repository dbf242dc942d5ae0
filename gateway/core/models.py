"""The schema's shared base: the declarative `Base`, timezone-aware UTC
datetimes, languages, and how status enums are stored.

Conventions: money is an integer number of RWF; phone numbers are E.164
strings (see `gateway.core.phones`); status-like columns hold the value of a
`StrEnum` (stored as VARCHAR, so adding a value needs no ALTER TYPE); every
datetime is timezone-aware UTC, also on SQLite (see `UTCDateTime`).
Any change to a model needs an Alembic revision in `gateway/migrations/versions`.
"""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    DateTime,
    Enum,
    MetaData,
    types,
)
from sqlalchemy.orm import DeclarativeBase


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


def str_enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
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
