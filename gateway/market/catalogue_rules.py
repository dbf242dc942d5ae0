"""The rules a catalogue product meets, whoever writes it (an import, the
console, the command line): checks that clean a raw product or say every
problem with its row and field. No database writes here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy.orm import Session

from gateway.market.models import Unit
from gateway.market.rules import DEFAULT_CEILING_PERCENT, DEFAULT_FLOOR_PERCENT, PRICE_MAX, PRICE_MIN
from gateway.sms import texts

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
GRADE_CODE = re.compile(r"^[A-Z0-9]{1,8}$")  # Listing.grade is 8 characters
NAME_MAX = 20  # product names: shown on 160-character USSD screens and in SMS
GRADE_NAME_MAX = 16  # the USSD grade list's label width
NAME_FIELDS = ("name_rw", "name_en", "name_fr")
# A listing's price bounds, in percent of the reference (rules.price_bounds);
# optional in a file: a product without them gets the defaults.
BOUND_FIELDS = {"price_floor_percent": (DEFAULT_FLOOR_PERCENT, 0, 100),
                "price_ceiling_percent": (DEFAULT_CEILING_PERCENT, 100, 100_000)}
FIELDS = ("code", *NAME_FIELDS, "unit", "reference_price", *BOUND_FIELDS, "active", "grades")
REQUIRED_COLUMNS = tuple(f for f in FIELDS if f not in BOUND_FIELDS)
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
    for field, (default, low, high) in BOUND_FIELDS.items():
        given = raw.get(field)
        cleaned[field] = _percent(default if given in (None, "") else given, low, high,
                                  lambda m, f=field: fail(f, m))
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


def _percent(value: Any, low: int, high: int, fail) -> int | None:
    """A whole percentage from `low` to `high`."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        fail(f"a whole percentage from {low} to {high:,}")
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
