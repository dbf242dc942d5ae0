"""Reference data: Rwanda's 30 districts and the demo product catalogue.

Both files ship inside the package (`gateway/data/`), so a fresh install can
seed itself with no network and no shared folder.
"""
from __future__ import annotations

import csv
import io
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.market.models import District, Product, Unit

# Gaps between catalogue positions let an operator slot a product in between.
POSITION_STEP = 10
# Arbitrary constant: PostgreSQL advisory lock key serialising seeding.
_SEED_LOCK_KEY = 0x150C1


def _data_text(name: str) -> str:
    return resources.files("gateway").joinpath("data", name).read_text("utf-8")


def load_districts() -> list[dict[str, str]]:
    """The districts file as rows of `district`, `province_en`, `province_rw`."""
    rows = csv.DictReader(io.StringIO(_data_text("districts.csv")))
    return [{key: value.strip() for key, value in row.items()} for row in rows]


def load_catalogue() -> list[dict[str, Any]]:
    """The demo catalogue's products, in display order."""
    return yaml.safe_load(_data_text("catalogue.yaml"))["products"]


def seed(session: Session) -> None:
    """Insert the districts (matched by name) and catalogue products (matched
    by code) that are missing. Existing rows are never changed: after the
    first seed the operator owns them. Flushes; the caller commits.

    On PostgreSQL, processes seeding at once (several web workers starting)
    take turns until the caller's commit, so none inserts a duplicate.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_SEED_LOCK_KEY)))
    _seed_districts(session)
    _seed_products(session)
    session.flush()


def _seed_districts(session: Session) -> None:
    existing = set(session.scalars(select(District.name)))
    for row in load_districts():
        if row["district"] not in existing:
            session.add(
                District(
                    name=row["district"],
                    province_en=row["province_en"],
                    province_rw=row["province_rw"],
                )
            )


def _seed_products(session: Session) -> None:
    existing = set(session.scalars(select(Product.code)))
    for index, item in enumerate(load_catalogue(), start=1):
        if item["code"] in existing:
            continue
        session.add(
            Product(
                code=item["code"],
                name_rw=item["name_rw"],
                name_en=item["name_en"],
                name_fr=item["name_fr"],
                unit=Unit(item["unit"]),
                grades=list(item.get("grades") or []),
                reference_price=int(item["reference_price"]),
                active=True,
                position=index * POSITION_STEP,
            )
        )
