"""Input validators for `input` screens: pure functions from typed text to a value.

Each validator returns `(value, None)` on success or `(None, error_key)` where
error_key names a text in the menu's `strings` (so errors are translated).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from menus import gsm7

# Digits with optional thousands separators (comma, dot, space) and an optional
# unit suffix: "50", "50kg", "50 kg", "1,000", "1 000", "1.000 ibiro".
_INTEGER = re.compile(r"^\s*(\d{1,3}(?:[ ,.\u00a0]\d{3})+|\d+)\s*([a-zA-Z]{0,10})\s*$")
_DECIMAL = re.compile(r"^\s*\d+[.,]\d{1,2}\s*[a-zA-Z]{0,10}\s*$")


@dataclass(frozen=True)
class Validator:
    """A compiled validator. `kind` is integer, text, regex or choice."""

    kind: str
    min: int | None = None
    max: int | None = None
    pattern: re.Pattern | None = None
    choices: tuple[str, ...] = ()
    units: tuple[str, ...] = field(default_factory=tuple)
    not_digits_only: bool = False

    def __call__(self, raw: str) -> tuple[object | None, str | None]:
        return _CHECKS[self.kind](self, raw)

    @property
    def error_keys(self) -> tuple[str, ...]:
        """Every error key this validator can return (strings the menu needs)."""
        return ERROR_KEYS[self.kind] + (("err_digits_only",) if self.not_digits_only else ())


def parse_integer(raw: str, units: tuple[str, ...] = ()) -> int | None:
    """Lenient integer parsing for a phone keypad. None when `raw` is not a
    whole number (decimals are refused: RWF has no minor unit).

    A suffix must be one of `units` (case-insensitive); with no units, any
    word of two letters or more ("kg", "pcs") is allowed, but never a single
    letter, so a mistyped "5O" or "1l" is not read as 5 or 1.
    """
    m = _INTEGER.match(raw)
    if not m:
        return None
    digits, suffix = m.group(1), m.group(2).lower()
    if suffix and (suffix not in units if units else len(suffix) < 2):
        return None
    return int(re.sub(r"\D", "", digits))


def _integer(v: Validator, raw: str):
    if _DECIMAL.match(raw) and not _INTEGER.match(raw):
        return None, "err_decimal"
    value = parse_integer(raw, v.units)
    if value is None:
        return None, "err_number"
    if v.min is not None and value < v.min:
        return None, "err_too_small"
    if v.max is not None and value > v.max:
        return None, "err_too_big"
    return value, None


def _text(v: Validator, raw: str):
    # Stored as it will be shown and sent: the GSM-7 spellings of what the
    # phone typed (’ → ', ç → c, a non-breaking space → a space), one space
    # between words. Characters without a GSM-7 spelling are kept here (shown
    # as '?'); extension characters ({ } [ ] €) are GSM-7 and kept.
    value = " ".join(gsm7.fix(raw).split())
    if len(value) < (v.min or 1):
        return None, "err_too_short"
    if v.not_digits_only and value.replace(" ", "").isdecimal():
        return None, "err_digits_only"  # "00", "98": a navigation key, not a name
    if v.max is not None and len(value) > v.max:
        return None, "err_too_long"
    return value, None


def _regex(v: Validator, raw: str):
    value = raw.strip()
    if v.pattern is None or not v.pattern.fullmatch(value):
        return None, "err_format"
    return value, None


def _choice(v: Validator, raw: str):
    value = raw.strip().lower()
    for choice in v.choices:
        if choice.lower() == value:
            return choice, None
    return None, "err_choice"


_CHECKS = {"integer": _integer, "text": _text, "regex": _regex, "choice": _choice}
KINDS = frozenset(_CHECKS)
ERROR_KEYS = {
    "integer": ("err_decimal", "err_number", "err_too_small", "err_too_big"),
    "text": ("err_too_short", "err_too_long"),
    "regex": ("err_format",),
    "choice": ("err_choice",),
}


def build(spec: dict) -> Validator:
    """Compile a validator spec from a definition. Raises ValueError with a
    reason when the spec is malformed (unknown type, bad regex, bad bounds)."""
    kind = spec.get("type")
    if kind not in KINDS:
        raise ValueError(f"unknown validator type {kind!r}")
    lo, hi = spec.get("min"), spec.get("max")
    for name, bound in (("min", lo), ("max", hi)):
        if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
            raise ValueError(f"validator {name} must be an integer")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError("validator min is greater than max")
    pattern = None
    if kind == "regex":
        try:
            pattern = re.compile(str(spec.get("pattern", "")))
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
    choices = spec.get("choices", ())
    choices = tuple(str(c) for c in ((choices,) if isinstance(choices, str) else choices))
    if kind == "choice" and not choices:
        raise ValueError("choice validator needs choices")
    units = spec.get("units", ())
    units = (units,) if isinstance(units, str) else units
    units = tuple(str(u).lower() for u in units)
    not_digits_only = spec.get("not_digits_only", False)
    if not isinstance(not_digits_only, bool):
        raise ValueError("not_digits_only must be true or false")
    if not_digits_only and kind != "text":
        raise ValueError("not_digits_only applies to text validators only")
    return Validator(kind, lo, hi, pattern, choices, units, not_digits_only)
