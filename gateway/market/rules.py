"""The rules `gateway.market` enforces: its errors and its input checks.

Each check returns the cleaned value or raises `InvalidInput` whose `code`
names the field (invalid_name, invalid_quantity...), so the USSD layer can
show the matching screen and the API can answer with the matching field.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.core import phones
from gateway.core.models import LANGUAGES, Language
from gateway.market.models import District, Product

__all__ = ["MarketError", "NotFound", "NotOwner", "InvalidInput"]

# Names of real length ("Nyiraneza Marie Goretti Uwimana" is 31); screens
# that show a name cut it to fit (the menu's `name` placeholder).
NAME_MIN, NAME_MAX = 2, 60
QUANTITY_MIN, QUANTITY_MAX = 1, 1_000_000
PRICE_MIN, PRICE_MAX = 1, 100_000_000
# A listing's price within these percentages of its product's reference,
# unless the product sets its own (price_floor_percent, price_ceiling_percent).
DEFAULT_FLOOR_PERCENT, DEFAULT_CEILING_PERCENT = 20, 500


class MarketError(Exception):
    """A business rule said no; `code` is stable, `message` is for humans."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(MarketError):
    def __init__(self, message: str) -> None:
        super().__init__("not_found", message)


class NotOwner(MarketError):
    def __init__(self, message: str = "this listing belongs to another producer") -> None:
        super().__init__("not_owner", message)


class InvalidInput(MarketError):
    """Bad values from the user; `code` names the field (e.g. invalid_quantity)."""


class PriceOutOfRange(InvalidInput):
    """A unit price far from the product's reference: below `low` or above
    `high` (whole RWF, both allowed), the bounds around `reference`."""

    def __init__(self, low: int, high: int, reference: int) -> None:
        super().__init__("price_out_of_range",
                         f"price must be from {low:,} to {high:,} RWF (reference {reference:,} RWF)")
        self.low, self.high, self.reference = low, high, reference


# --- producers ---------------------------------------------------------------------


def check_phone(phone: str) -> str:
    try:
        if phones.normalize(phone) == phone:
            return phone
    except phones.InvalidPhone:
        pass
    raise InvalidInput("invalid_phone", "phone must be a valid E.164 number")


def check_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not NAME_MIN <= len(cleaned) <= NAME_MAX:
        raise InvalidInput("invalid_name", f"name must be {NAME_MIN}-{NAME_MAX} characters")
    # "00" or "98" typed where a name was asked is a navigation key, not a name.
    if not any(ch.isalpha() for ch in cleaned):
        raise InvalidInput("invalid_name", "name must contain a letter")
    return cleaned


def check_district(s: Session, district_id: int) -> int:
    if s.get(District, district_id) is None:
        raise InvalidInput("invalid_district", "no such district")
    return district_id


def check_language(language: str) -> Language:
    if language not in LANGUAGES:
        raise InvalidInput("invalid_language", "language must be rw, en or fr")
    return Language(language)


def check_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("invalid_consent", "consent time must be timezone-aware")
    return moment


# --- listings ----------------------------------------------------------------------


def check_grade(product: Product, grade: str | None) -> str | None:
    codes = product.grade_codes()
    if (not codes and grade is None) or grade in codes:
        return grade
    raise InvalidInput("invalid_grade", f"grade must be one of {codes or 'none'}")


def check_int(value: int, low: int, high: int, code: str, what: str) -> int:
    # bool is an int subclass; True must not become a quantity of 1.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(code, f"{what} must be a whole number from {low:,} to {high:,}")
    return value


def check_quantity(quantity: int) -> int:
    return check_int(quantity, QUANTITY_MIN, QUANTITY_MAX, "invalid_quantity", "quantity")


def check_price(unit_price: int) -> int:
    return check_int(unit_price, PRICE_MIN, PRICE_MAX, "invalid_price", "price")


def price_bounds(product: Product) -> tuple[int, int]:
    """The lowest and highest unit price a listing of `product` may ask: its
    floor and ceiling percentages of the reference price (defaults 20 % and
    500 %), rounded inwards to whole RWF and kept within PRICE_MIN..PRICE_MAX."""
    floor = product.price_floor_percent if product.price_floor_percent is not None else DEFAULT_FLOOR_PERCENT
    ceiling = (product.price_ceiling_percent if product.price_ceiling_percent is not None
               else DEFAULT_CEILING_PERCENT)
    low = -(-product.reference_price * floor // 100)  # ceiling division: never below the floor
    high = product.reference_price * ceiling // 100
    return max(PRICE_MIN, low), min(PRICE_MAX, max(high, low))


def check_sane_price(product: Product, unit_price: int) -> int:
    """`unit_price` when it is a valid price within `price_bounds(product)`;
    raises InvalidInput, or PriceOutOfRange naming the bounds."""
    check_price(unit_price)
    low, high = price_bounds(product)
    if not low <= unit_price <= high:
        raise PriceOutOfRange(low, high, product.reference_price)
    return unit_price
