"""The catalogue as operators run it: the rules a product must meet, edits
from the console, reference prices with their history, whole-file imports,
and the version number every process checks its cached product list against.

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

import re
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.market.models import CatalogueVersion, Listing, PriceChange, Product, Unit
from gateway.market.rules import PRICE_MAX, PRICE_MIN, NotFound
from gateway.market.seed import POSITION_STEP
from gateway.sms import texts

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
GRADE_CODE = re.compile(r"^[A-Z0-9]{1,8}$")  # Listing.grade is 8 characters
NAME_MAX = 20  # product names: shown on 160-character USSD screens and in SMS
GRADE_NAME_MAX = 16  # the USSD grade list's label width
NAME_FIELDS = ("name_rw", "name_en", "name_fr")
FIELDS = ("code", *NAME_FIELDS, "unit", "reference_price", "active", "grades")
GRADE_FIELDS = ("code", *NAME_FIELDS)
GRADE_SEPARATORS = ";|"  # how a CSV cell separates grades and their fields


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (`row`: the product's row in the
    file, None for a single edit) and which field."""

    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field}: {self.message}"


class CatalogueInvalid(ValueError):
    """The input breaks the catalogue's rules; `problems` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Outcome:
    """What an edit or an import did: one line per change ("coffee_cherry
    reference_price 700 -> 750"), and the products it created."""

    changes: tuple[str, ...] = ()
    created: tuple[str, ...] = ()


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
            "reference_price": product.reference_price, "active": bool(product.active),
            "grades": [{k: str(g.get(k, "")) for k in GRADE_FIELDS} for g in product.grades or []]}


# --- the rules -----------------------------------------------------------------

def units(s: Session) -> list[str]:
    """The units a product may have: those the SMS texts (published, else
    shipped) know how to write after a number."""
    known = set((yaml.safe_load(texts.shipped_source()) or {}).get("units") or {})
    known |= set(((texts.published(s) or {}).get("units")) or {})
    return [unit.value for unit in Unit if unit.value in known]


def check(raw: Any, row: int | None, allowed_units: list[str]) -> tuple[dict | None, list[Problem]]:
    """`raw` (a product as a file or form gives it) cleaned, or the problems."""
    if not isinstance(raw, dict):
        return None, [Problem(row, "(product)", "must be a mapping of fields")]
    problems = [Problem(row, str(key), "unknown field") for key in raw if key not in FIELDS]
    cleaned: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        problems.append(Problem(row, field, message))

    code = raw.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        fail("code", "2 to 40 characters: lower-case letters, digits, '_', starting with a letter")
    cleaned["code"] = code
    for field in NAME_FIELDS:
        cleaned[field] = _name(raw.get(field), NAME_MAX, field, fail)
    unit = raw.get("unit")
    if unit not in allowed_units:
        fail("unit", f"{unit!r} is not one of {', '.join(allowed_units)}")
    cleaned["unit"] = unit
    cleaned["reference_price"] = price(raw.get("reference_price"), lambda m: fail("reference_price", m))
    active = _boolean(raw.get("active", True))
    if active is None:
        fail("active", "yes or no")
    cleaned["active"] = active
    cleaned["grades"] = _grades(raw.get("grades") or [], fail)
    return (cleaned if not problems else None), problems


def price(value: Any, fail) -> int | None:
    """A reference price: whole RWF within the market's price range."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        fail(f"{value!r} is not a whole number of RWF")
        return None
    if not PRICE_MIN <= value <= PRICE_MAX:
        fail(f"must be between {PRICE_MIN} and {PRICE_MAX:,} RWF")
        return None
    return value


def _name(value: Any, limit: int, field: str, fail) -> str | None:
    if not isinstance(value, str) or not value.strip():
        fail(field, "missing")
        return None
    value = value.strip()
    if len(value) > limit:
        fail(field, f"{len(value)} characters, at most {limit}")
    if not texts.is_gsm7(value):
        bad = next(ch for ch in value if not texts.is_gsm7(ch))
        fail(field, f"character outside GSM-7: {bad!r}")
    return value


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False,
            "": True}.get(str(value).strip().lower())


def _grades(raw: Any, fail) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        fail("grades", "must be a list")
        return []
    grades, seen = [], set()
    for index, grade in enumerate(raw, start=1):
        where = f"grades[{index}]"
        if not isinstance(grade, dict) or set(grade) - set(GRADE_FIELDS):
            fail(where, f"a grade has exactly {', '.join(GRADE_FIELDS)}")
            continue
        code = str(grade.get("code") or "")
        if not GRADE_CODE.match(code):
            fail(f"{where}.code", "1 to 8 capital letters or digits")
        elif code in seen:
            fail(f"{where}.code", f"grade {code} twice")
        seen.add(code)
        cleaned = {"code": code}
        for field in NAME_FIELDS:
            name = _name(grade.get(field), GRADE_NAME_MAX, f"{where}.{field}", fail)
            if name and any(sep in name for sep in GRADE_SEPARATORS):
                fail(f"{where}.{field}", "no ';' or '|' in a grade name")
            cleaned[field] = name or ""
        grades.append(cleaned)
    return grades


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
    changes, created = [], []
    position = max((p.position for p in existing.values()), default=0)
    for spec in specs:
        product = existing.get(spec["code"])
        if product is None:
            position += POSITION_STEP
            product = _create(s, spec, position, by)
            created.append(product.code)
        else:
            changes += _write(s, product, spec, by, bump_version=False).changes
    if changes or created:
        bump(s)
    return Outcome(tuple(changes), tuple(created))


def _create(s: Session, spec: dict, position: int, by: str) -> Product:
    product = Product(code=spec["code"], name_rw=spec["name_rw"], name_en=spec["name_en"],
                      name_fr=spec["name_fr"], unit=Unit(spec["unit"]), grades=spec["grades"],
                      reference_price=spec["reference_price"], active=spec["active"], position=position)
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
    if before["reference_price"] != spec["reference_price"]:
        s.add(PriceChange(product_id=product.id, old_price=product.reference_price,
                          new_price=spec["reference_price"], changed_by=by[:80]))
    for field in (*NAME_FIELDS, "reference_price", "active"):
        setattr(product, field, spec[field])
    product.unit = Unit(spec["unit"])
    product.grades = [dict(g) for g in spec["grades"]]
    s.flush()
    if bump_version:
        bump(s)
    return Outcome(tuple(changes))


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(g["code"] for g in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def count_listings(s: Session, product_id: int) -> int:
    """How many listings (any status) point at the product."""
    return s.scalar(select(func.count()).select_from(Listing).where(Listing.product_id == product_id)) or 0
