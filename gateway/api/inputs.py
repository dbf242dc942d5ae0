"""What the buyer API accepts: headers, query parameters, path parameters and
bodies, as pydantic models.

These models are the one source of the API's request rules: `validation`
runs them on each request and `openapi` publishes their JSON schema, so a
rule cannot be checked without being declared. Contract: a request whose
parts these models accept is never refused for its shape (only for what the
data says: an unknown listing, too little stock, a key reused).

Patterns are written to mean the same in Python's `re` (the server, and
jsonschema in the tests) and in ECMA-262 (what OpenAPI tools use): explicit
character classes (no `\\d`, `\\s`, `\\w`, which differ), and `$(?!\\n)` to end
a string, because Python's `$` alone also matches before a final newline.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gateway.core import phones
from gateway.market.rules import PRICE_MAX, PRICE_MIN, QUANTITY_MAX, QUANTITY_MIN
from gateway.market.want_models import WantStatus
from gateway.orders.models import OrderStatus

END = r"$(?!\n)"
CODE_PATTERN = r"^[1-9][0-9]{5}" + END
IDEMPOTENCY_KEY_MAX = 100
# Printable ASCII, not starting or ending with a space (HTTP strips those).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?" + END
LIMIT_DEFAULT, LIMIT_MAX = 20, 100
TEXT_PARAM_MAX = 40
TEXT_PARAM_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*" + END  # no control characters
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,40}" + END
INT_MAX = 2**31 - 1
BUYER_NAME_MAX = 64
# No control characters, surrogates, or invisible characters that reorder or
# hide text; at least one character that is not whitespace (Python's
# whitespace, spelled out, control characters aside).
_NAME_BANNED = r"\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff"
_SPACES = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
BUYER_NAME_PATTERN = f"^[^{_NAME_BANNED}]*[^{_NAME_BANNED}{_SPACES}][^{_NAME_BANNED}]*{END}"
# A Rwandan mobile number (the buyer's SMS go through a Rwandan provider):
# +250, 00250, 250, 0 or nothing, then 7[237-9] and seven digits; single
# spaces or hyphens may separate the digits.
_SEP = "[ -]?"
BUYER_PHONE_PATTERN = (f"^(?:(?:[+]|00)?2{_SEP}5{_SEP}0{_SEP}|0{_SEP})?"
                       f"7{_SEP}[237-9](?:{_SEP}[0-9]){{7}}{END}")


class Strict(BaseModel):
    """Types are never coerced (no "10" for 10, no true for 1); unknown fields
    are refused; patterns run on Python's `re` (see the module's note)."""

    model_config = ConfigDict(strict=True, extra="forbid", regex_engine="python-re")
    # Error codes by field: (missing, invalid). Fields not named here answer
    # `invalid_<field>` (bodies) or `invalid_parameter` (query).
    ERROR_CODES: ClassVar[dict[str, tuple[str, str]]] = {}


def _whole_number(value: Any) -> Any:
    # JSON does not tell 5 from 5.0 and JSON Schema calls both integers: read
    # 5.0 as 5. 5.5 stays a float and is refused.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _digits(value: Any) -> Any:
    # A query parameter is text: ASCII digits are a whole number, and
    # anything else (signs, spaces, "5.0") stays text and is refused.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _blank_is_none(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _phone(value: str | None) -> str | None:
    return phones.normalize(value) if value is not None else None  # InvalidPhone: a ValueError


QueryInt = BeforeValidator(_digits)
_TEXT_RULE = f"at most {TEXT_PARAM_MAX} characters, no control characters"
TextParam = Annotated[str | None, Field(max_length=TEXT_PARAM_MAX, pattern=TEXT_PARAM_PATTERN),
                      AfterValidator(_blank_is_none)]


# --- headers, query, path ---------------------------------------------------------


class OrderHeaders(Strict):
    model_config = ConfigDict(extra="ignore")  # every other header is not ours
    ERROR_CODES = {"Idempotency-Key": ("idempotency_key_required", "invalid_idempotency_key")}

    idempotency_key: str = Field(
        alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=f"your unique id for this order, e.g. a UUID; scoped to your key: "
                    f"1-{IDEMPOTENCY_KEY_MAX} printable ASCII characters, not starting or "
                    f"ending with a space")


class ListingsQuery(Strict):
    ERROR_CODES = {"cursor": ("invalid_cursor", "invalid_cursor")}

    product: TextParam = Field(None, description=f"a product code (see /products); {_TEXT_RULE}")
    district: TextParam = Field(None, description=f"a district name, any case; {_TEXT_RULE}")
    min_quantity: Annotated[int | None, QueryInt] = Field(
        None, ge=0, le=INT_MAX,
        description="only listings with at least this quantity left: a whole number, 0 or more")
    limit: Annotated[int, QueryInt] = Field(
        LIMIT_DEFAULT, ge=1, le=LIMIT_MAX,
        description=f"page size: a whole number from 1 to {LIMIT_MAX}")
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN,
                               description="next_cursor from the previous page; keep the same "
                                           "filters")


class OrderPath(Strict):
    code: str = Field(pattern=CODE_PATTERN, description="the order's code")


# --- bodies -----------------------------------------------------------------------


class OrderBuyer(Strict):
    name: Annotated[str, AfterValidator(_collapse)] = Field(
        min_length=1, max_length=BUYER_NAME_MAX, pattern=BUYER_NAME_PATTERN,
        description=f"1-{BUYER_NAME_MAX} characters, not blank, without control or invisible "
                    f"formatting characters; runs of whitespace are kept as one space")
    phone: Annotated[str | None, AfterValidator(_phone)] = Field(
        None, pattern=BUYER_PHONE_PATTERN, examples=["+250788123456", "0788 123 456"],
        description="a Rwandan mobile number (+2507..., 07...; spaces or hyphens allowed), "
                    "which gets SMS updates; stored as +2507XXXXXXXX")


class OrderRequest(Strict):
    listing: str = Field(pattern=CODE_PATTERN, examples=["482113"],
                         description="a listing code (6 digits, as a string)")
    quantity: Annotated[int, BeforeValidator(_whole_number)] = Field(
        ge=QUANTITY_MIN, le=QUANTITY_MAX,
        description=f"a whole number from {QUANTITY_MIN:,} to {QUANTITY_MAX:,} "
                    f"(5.0 is read as 5)")
    buyer: OrderBuyer = Field(description="an object with a name and an optional phone")


# --- orders list, webhooks ----------------------------------------------------------

TIME_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z in unix seconds
WEBHOOK_URL_MAX = 2048
# The shape only; where it may point (https, a public address) is checked
# against DNS when it is created: `webhook_urls`.
WEBHOOK_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+" + END
# One event type per order state (order.delivered, order.disputed, ...).
EventType = Literal[tuple(f"order.{status.value}" for status in OrderStatus)]  # type: ignore[valid-type]
_TIME_RULE = "unix seconds (UTC), a whole number"
# The statuses as plain strings (strict models take no text for an Enum).
StatusValue = Literal[tuple(status.value for status in OrderStatus)]  # type: ignore[valid-type]


class OrdersQuery(Strict):
    ERROR_CODES = {"cursor": ("invalid_cursor", "invalid_cursor")}

    status: StatusValue | None = Field(None, description="only orders in this state")
    since: Annotated[int | None, QueryInt] = Field(
        None, ge=0, le=TIME_MAX,
        description=f"only orders placed at or after this time: {_TIME_RULE}")
    until: Annotated[int | None, QueryInt] = Field(
        None, ge=0, le=TIME_MAX, description=f"only orders placed before this time: {_TIME_RULE}")
    limit: Annotated[int, QueryInt] = Field(
        LIMIT_DEFAULT, ge=1, le=LIMIT_MAX,
        description=f"page size: a whole number from 1 to {LIMIT_MAX}")
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN,
                               description="next_cursor from the previous page; keep the same "
                                           "filters")


class WebhookPath(Strict):
    id: Annotated[int, QueryInt] = Field(ge=1, le=INT_MAX, description="the webhook's id")


class WebhookRequest(Strict):
    url: str = Field(min_length=1, max_length=WEBHOOK_URL_MAX, pattern=WEBHOOK_URL_PATTERN,
                     examples=["https://shop.example/isoko/events"],
                     description="where to POST the events: an https:// URL whose host has "
                                 "public addresses only (see the README); printable ASCII")
    events: list[EventType] = Field(
        min_length=1, max_length=5,
        description="the event types to receive (order.<status>), at least one; repeats are "
                    "read once")


# --- wants (buy requests) -------------------------------------------------------------

PRODUCT_CODE_PATTERN = r"^[a-z0-9_]{1,40}" + END
GRADE_PATTERN = r"^[A-Za-z0-9_-]{1,8}" + END
WantStatusValue = Literal[tuple(status.value for status in WantStatus)]  # type: ignore[valid-type]


class WantHeaders(Strict):
    model_config = ConfigDict(extra="ignore")  # every other header is not ours
    ERROR_CODES = {"Idempotency-Key": ("idempotency_key_required", "invalid_idempotency_key")}

    idempotency_key: str = Field(
        alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=f"your unique id for this want, e.g. a UUID; scoped to your key: "
                    f"1-{IDEMPOTENCY_KEY_MAX} printable ASCII characters, not starting or "
                    f"ending with a space")


class WantRequest(Strict):
    product: str = Field(pattern=PRODUCT_CODE_PATTERN, examples=["beans"],
                         description="a product code (see /products)")
    grade: str | None = Field(None, pattern=GRADE_PATTERN, examples=["A"],
                              description="one of the product's grade codes; null or absent: "
                                          "any grade")
    quantity: Annotated[int, BeforeValidator(_whole_number)] = Field(
        ge=QUANTITY_MIN, le=QUANTITY_MAX,
        description=f"how many units are wanted: a whole number from {QUANTITY_MIN:,} to "
                    f"{QUANTITY_MAX:,}")
    max_price: Annotated[int, BeforeValidator(_whole_number)] = Field(
        ge=PRICE_MIN, le=PRICE_MAX,
        description=f"the most paid per unit, in RWF: a whole number from {PRICE_MIN:,} to "
                    f"{PRICE_MAX:,}; a listing at this price or less matches")
    district: Annotated[str | None, AfterValidator(_blank_is_none)] = Field(
        None, max_length=TEXT_PARAM_MAX, pattern=TEXT_PARAM_PATTERN, examples=["Huye"],
        description=f"a district name, any case: only sellers there match; null or absent: "
                    f"anywhere; {_TEXT_RULE}")
    valid_until: Annotated[int | None, BeforeValidator(_whole_number)] = Field(
        None, ge=0, le=TIME_MAX,
        description=f"when the want expires: {_TIME_RULE}, in the future and at most 90 days "
                    f"ahead; absent: 14 days from now")
    phone: Annotated[str | None, AfterValidator(_phone)] = Field(
        None, pattern=BUYER_PHONE_PATTERN, examples=["+250788123456"],
        description="a Rwandan mobile number that gets an SMS for each matching listing "
                    "(stored as +2507XXXXXXXX); absent: no SMS, the matches are listed on "
                    "the want")
    language: Literal["rw", "en", "fr"] = Field("en", description="the language of those SMS")


class WantsQuery(Strict):
    ERROR_CODES = {"cursor": ("invalid_cursor", "invalid_cursor")}

    status: WantStatusValue | None = Field(None, description="only wants in this state")
    product: TextParam = Field(None, description=f"only wants of this product code; {_TEXT_RULE}")
    limit: Annotated[int, QueryInt] = Field(
        LIMIT_DEFAULT, ge=1, le=LIMIT_MAX,
        description=f"page size: a whole number from 1 to {LIMIT_MAX}")
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN,
                               description="next_cursor from the previous page; keep the same "
                                           "filters")


class WantPath(Strict):
    id: Annotated[int, QueryInt] = Field(ge=1, le=INT_MAX, description="the want's id")
