"""What the buyer API answers, as pydantic models.

The routes build their answers through these models (`model_dump(mode="json")`)
and `openapi` publishes their JSON schema, so an answer and its description
come from one place. Money is whole RWF; times are UTC, ISO 8601 with a Z.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from gateway.api.inputs import CODE_PATTERN
from gateway.market.models import Unit
from gateway.market.want_models import WantStatus
from gateway.orders.models import OrderStatus
from gateway.payments.models import PaymentStatus

PaymentStatusName = Literal[tuple(str(status) for status in PaymentStatus if status != PaymentStatus.HELD)]

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                           "examples": ["2025-03-01T09:30:00Z"]})]
Code = Annotated[str, Field(pattern=CODE_PATTERN, examples=["482113"])]
Currency = Literal["RWF"]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


# --- listings and products ----------------------------------------------------------


class ProductRef(Answer):
    code: str = Field(examples=["coffee_cherry"])
    name: str = Field(description="English name")


class Listing(Answer):
    code: Code
    product: ProductRef
    grade: str | None
    quantity: int = Field(ge=1)
    unit: Unit
    unit_price: int = Field(description="RWF per unit")
    currency: Currency
    district: str
    updated_at: Timestamp


class ListingPage(Answer):
    data: list[Listing]
    next_cursor: str | None = Field(description="null on the last page")


class Names(Answer):
    rw: str
    en: str
    fr: str


class Grade(Answer):
    code: str
    names: Names


class Product(Answer):
    code: str
    names: Names
    unit: Unit
    grades: list[Grade]
    reference_price: int = Field(description="RWF per unit, indicative")
    currency: Currency


class ProductList(Answer):
    data: list[Product]


# --- orders -----------------------------------------------------------------------


class OrderBuyerOut(Answer):
    name: str | None
    phone: str | None


class OrderSellerOut(Answer):
    """Who to meet for the handover: shown once the seller accepted."""

    name: str
    district: str
    phone: str = Field(examples=["+250788123456"])


class OrderPaymentOut(Answer):
    """How the buyer pays: `cash` on delivery, or `momo` (MTN mobile money,
    where the deployment has it) with the collection's state: `new` and
    `requested` (awaiting the buyer's approval), `successful`, `failed`
    (with MTN's `reason`, e.g. NOT_ENOUGH_FUNDS; the buyer may retry by USSD)."""

    method: Literal["cash", "momo"]
    status: PaymentStatusName | None = None
    reason: str | None = None


class OrderEvent(Answer):
    status: OrderStatus
    at: Timestamp
    actor: str = Field(examples=["api", "seller", "buyer", "system"])


class Order(Answer):
    """An order. Its states: pending → accepted → (paid →) delivered
    (→ settled), or rejected, expired, cancelled; overdue (accepted, not
    delivered in time) and disputed (an operator resolves it). Without mobile
    money an order is cash on delivery: accepted → delivered."""

    code: Code
    status: OrderStatus
    listing: Code
    product: ProductRef
    grade: str | None
    quantity: int
    unit: Unit
    unit_price: int
    total: int
    currency: Currency
    buyer: OrderBuyerOut
    seller: OrderSellerOut | None = Field(description="the seller's name, district and phone "
                                          "once the order is accepted; null before")
    created_at: Timestamp
    expires_at: Timestamp = Field(description="unanswered orders expire then")
    answered_at: Timestamp | None
    payment: OrderPaymentOut
    history: list[OrderEvent]


# --- errors -----------------------------------------------------------------------


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def _optional(description: str):
    """A field that is absent unless an error has it (never null)."""
    return Field(None, description=description, json_schema_extra=_no_default)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable, machine-readable", examples=["out_of_stock"])
    message: str = Field(description="for humans")
    field: str | SkipJsonSchema[None] = _optional("the offending field or parameter")
    available: int | SkipJsonSchema[None] = _optional("out_of_stock: what is left to order")
    status: str | SkipJsonSchema[None] = _optional("order_closed: the order's status")
    order: str | SkipJsonSchema[None] = _optional("idempotency_key_reused: the order the key "
                                                  "made")


class Error(BaseModel):
    error: ErrorDetail


# --- orders list, webhooks ------------------------------------------------------------


class OrderPage(Answer):
    data: list[Order]
    next_cursor: str | None = Field(description="null on the last page")


class Webhook(Answer):
    id: int
    url: str
    events: list[str] = Field(examples=[["order.accepted", "order.rejected"]])
    created_at: Timestamp


class WebhookCreated(Webhook):
    secret: str = Field(description="signs every delivery (Isoko-Signature); shown only now",
                        examples=["whsec_3q2-7wJ1..."])


class WebhookList(Answer):
    data: list[Webhook]


class WebhookEvent(Answer):
    """The body of a webhook delivery."""

    id: str = Field(description="the event's id, the same at every attempt: dedupe on it",
                    examples=["evt_1042"])
    type: str = Field(examples=["order.accepted"], description="order.<the new status>")
    created_at: Timestamp = Field(description="when the order changed")
    data: Order = Field(description="the order as it was right after the change")


# --- wants (buy requests) ------------------------------------------------------------


class WantMatch(Answer):
    """A listing put on sale (or already on sale) that matched the want."""

    listing: Code
    unit_price: int = Field(description="RWF per unit, when it matched")
    district: str
    matched_at: Timestamp


class Want(Answer):
    """A buy request. Open until you close or fulfil it, or `expires_at`
    passes (then expired)."""

    id: int
    status: WantStatus
    product: ProductRef
    grade: str | None = Field(description="null: any grade")
    quantity: int
    unit: Unit
    max_price: int = Field(description="RWF per unit")
    currency: Currency
    district: str | None = Field(description="null: anywhere")
    phone: str | None = Field(description="who gets the SMS of each match; null: nobody")
    created_at: Timestamp
    expires_at: Timestamp
    closed_at: Timestamp | None
    matches: list[WantMatch] = Field(description="the listings it matched, oldest first (at "
                                                 "most 20)")


class WantPage(Answer):
    data: list[Want]
    next_cursor: str | None = Field(description="null on the last page")
