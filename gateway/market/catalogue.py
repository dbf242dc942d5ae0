"""The catalogue as operators run it: edits from the console, reference
prices with their history, whole-file imports, and the version number every
process checks its cached product list against. What a product must be is
`catalogue_rules`; the file formats are `catalogue_files`.

Every function takes a session and never commits; the caller owns the
transaction, so an import that fails validation writes nothing, and a
change's price history and version bump commit with it or not at all.

A product is never deleted: listings and orders point at it. An import is an
upsert by code; a product the file omits is left as it is (take it off sale
with `active: false`), so a partial file (one new product, this week's price
sheet) cannot silently withdraw the rest of the catalogue.

Who changed something (`by`) is an operator's username or "cli:<login>".
The console and the command line write the audit entry themselves
(`gateway.operators` is a peer of this package).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.market.catalogue_rules import (  # noqa: F401  (the rules' names are the catalogue's too)
    BOUND_FIELDS,
    FIELDS,
    GRADE_FIELDS,
    NAME_FIELDS,
    REQUIRED_COLUMNS,
    CatalogueInvalid,
    Problem,
    check,
    price,
    units,
)
from gateway.market.models import CatalogueVersion, Listing, PriceChange, Product, Unit
from gateway.market.rules import NotFound
from gateway.market.seed import POSITION_STEP


@dataclass(frozen=True)
class Outcome:
    """What an edit or an import did: one line per change ("coffee_cherry
    reference_price 700 -> 750"), the products it created, and the ids of
    the products whose reference price changed (the caller queues their
    price alerts after the commit: `gateway.market.alert_jobs.enqueue`)."""

    changes: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    repriced: tuple[int, ...] = ()


# --- the version every process compares its cache against ---------------------

def version(s: Session) -> int:
    """The catalogue's version (one primary-key read)."""
    return s.scalar(select(CatalogueVersion.version).where(CatalogueVersion.id == 1)) or 0


def bump(s: Session) -> None:
    """Move the version on, in the caller's transaction: every process sees
    the new catalogue on its next hop that shows products."""
    done = s.execute(update(CatalogueVersion).where(CatalogueVersion.id == 1)
                     .values(version=CatalogueVersion.version + 1))
    if done.rowcount == 0:  # the row went missing (a truncated table): start again
        s.add(CatalogueVersion(id=1, version=1))
        s.flush()


# --- reading -------------------------------------------------------------------

def all_products(s: Session) -> list[Product]:
    """Every product, active or not, in the operator's order."""
    return list(s.scalars(select(Product).order_by(Product.position, Product.id)))


def by_code(s: Session, code: str) -> Product:
    """The product with this code; raises NotFound."""
    product = s.scalar(select(Product).where(Product.code == code))
    if product is None:
        raise NotFound(f"no product {code!r}")
    return product


def history(s: Session, product_id: int) -> list[PriceChange]:
    """The product's reference price changes, newest first."""
    return list(s.scalars(select(PriceChange).where(PriceChange.product_id == product_id)
                          .order_by(PriceChange.id.desc())))


def as_dict(product: Product) -> dict[str, Any]:
    """The product as an import file states it."""
    return {"code": product.code, "name_rw": product.name_rw, "name_en": product.name_en,
            "name_fr": product.name_fr, "unit": str(product.unit.value),
            "reference_price": product.reference_price,
            "price_floor_percent": product.price_floor_percent,
            "price_ceiling_percent": product.price_ceiling_percent, "active": bool(product.active),
            "grades": [{k: str(g.get(k, "")) for k in GRADE_FIELDS} for g in product.grades or []]}


def _against_listings(s: Session, product: Product, spec: dict, row: int | None) -> list[Problem]:
    """What listings forbid: a new unit would change what their quantities
    mean, and a grade they carry must stay."""
    used = set(s.scalars(select(Listing.grade).where(Listing.product_id == product.id).distinct()))
    problems = []
    if used and spec["unit"] != product.unit.value:
        problems.append(Problem(row, "unit", f"listings of {product.code} are in {product.unit.value}"))
    missing = sorted(g for g in used - {None} if g not in {x["code"] for x in spec["grades"]})
    if missing:
        problems.append(Problem(row, "grades", f"listings use grade {', '.join(missing)}"))
    return problems


# --- writing -------------------------------------------------------------------

def set_price(s: Session, code: str, new_price: int, *, by: str) -> Outcome:
    """Change one product's reference price; NotFound, CatalogueInvalid."""
    product = by_code(s, code)
    problems: list[Problem] = []
    checked = price(new_price, lambda m: problems.append(Problem(None, "reference_price", m)))
    if problems:
        raise CatalogueInvalid(problems)
    return _write(s, product, dict(as_dict(product), reference_price=checked), by)


def edit(s: Session, code: str, changes: dict[str, Any], *, by: str) -> Outcome:
    """Change some fields of a product (the console's form); the whole
    product is checked again. NotFound, CatalogueInvalid."""
    product = by_code(s, code)
    spec, problems = check({**as_dict(product), **changes, "code": code}, None, units(s))
    problems += _against_listings(s, product, spec, None) if spec else []
    if problems:
        raise CatalogueInvalid(problems)
    return _write(s, product, spec, by)


def import_products(s: Session, rows: list[Any], *, by: str, first_row: int = 1) -> Outcome:
    """Create or update every product of `rows` (by code), all or nothing:
    every row is checked first, and CatalogueInvalid lists each problem with
    its row (the first one numbered `first_row`). Products the rows omit
    stay as they are."""
    allowed, problems, specs = units(s), [], []
    existing = {p.code: p for p in all_products(s)}
    seen: dict[str, int] = {}
    if not rows:
        problems.append(Problem(None, "(file)", "no products"))
    for row, raw in enumerate(rows, start=first_row):
        spec, found = check(raw, row, allowed)
        problems += found
        code = raw.get("code") if isinstance(raw, dict) else None
        if isinstance(code, str) and code in seen:
            problems.append(Problem(row, "code", f"{code} also on row {seen[code]}"))
        elif isinstance(code, str):
            seen[code] = row
        if spec is None:
            continue
        if spec["code"] in existing:
            problems += _against_listings(s, existing[spec["code"]], spec, row)
        specs.append(spec)
    if problems:
        raise CatalogueInvalid(problems)
    changes, created, repriced = [], [], []
    position = max((p.position for p in existing.values()), default=0)
    for spec in specs:
        product = existing.get(spec["code"])
        if product is None:
            position += POSITION_STEP
            product = _create(s, spec, position, by)
            created.append(product.code)
        else:
            done = _write(s, product, spec, by, bump_version=False)
            changes += done.changes
            repriced += done.repriced
    if changes or created:
        bump(s)
    return Outcome(tuple(changes), tuple(created), tuple(repriced))


def _create(s: Session, spec: dict, position: int, by: str) -> Product:
    product = Product(code=spec["code"], name_rw=spec["name_rw"], name_en=spec["name_en"],
                      name_fr=spec["name_fr"], unit=Unit(spec["unit"]), grades=spec["grades"],
                      reference_price=spec["reference_price"], active=spec["active"], position=position,
                      price_floor_percent=spec["price_floor_percent"],
                      price_ceiling_percent=spec["price_ceiling_percent"])
    s.add(product)
    s.flush()
    s.add(PriceChange(product_id=product.id, old_price=None, new_price=product.reference_price,
                      changed_by=by[:80]))
    return product


def _write(s: Session, product: Product, spec: dict, by: str, *, bump_version: bool = True) -> Outcome:
    """Make `product` match `spec`; record a price change; bump the version
    when anything changed."""
    before = as_dict(product)
    changes = [f"{product.code} {field} {_shown(before[field])} -> {_shown(spec[field])}"
               for field in FIELDS[1:] if before[field] != spec[field]]
    if not changes:
        return Outcome()
    repriced = before["reference_price"] != spec["reference_price"]
    if repriced:
        s.add(PriceChange(product_id=product.id, old_price=product.reference_price,
                          new_price=spec["reference_price"], changed_by=by[:80]))
    for field in (*NAME_FIELDS, "reference_price", *BOUND_FIELDS, "active"):
        setattr(product, field, spec[field])
    product.unit = Unit(spec["unit"])
    product.grades = [dict(g) for g in spec["grades"]]
    s.flush()
    if bump_version:
        bump(s)
    return Outcome(tuple(changes), repriced=(product.id,) if repriced else ())


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(g["code"] for g in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def count_listings(s: Session, product_id: int) -> int:
    """How many listings (any status) point at the product."""
    return s.scalar(select(func.count()).select_from(Listing).where(Listing.product_id == product_id)) or 0
