"""Segments of the market an operator broadcasts to, and the broadcast itself.

A segment is a role, optionally narrowed to a product and a district:

- `producer`: registered numbers with a listing (any status) of the product
  (any product when none is given), in the district of their registration;
- `buyer`: registered numbers that ordered the product by USSD (orders from
  the API carry a platform's customer, who never consented to our SMS).

Only registered numbers are ever in a segment (they gave consent at
registration) and opted-out numbers (STOP) never are: `preview` counts
them apart, `send` leaves them out. Lives with the orders because the buyer
role reads them; the messages are written by `gateway.sms.broadcasts`.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gateway.market import catalogue
from gateway.market.models import District, Listing, Producer
from gateway.market.rules import NotFound
from gateway.orders.models import Order
from gateway.sms import broadcasts
from gateway.sms import texts as smstexts
from gateway.sms.broadcast_models import Broadcast
from gateway.sms.models import OptOut

ROLES = ("producer", "buyer")


@dataclass(frozen=True)
class Segment:
    role: str
    product: str | None = None  # a product code
    district: str | None = None  # a district name

    def label(self) -> str:
        """How the broadcast records it: "role=producer product=beans district=Huye"."""
        return " ".join(f"{k}={v}" for k, v in (("role", self.role), ("product", self.product),
                                                 ("district", self.district)) if v)


@dataclass(frozen=True)
class Preview:
    """Who a broadcast would reach: the recipients, the opted-out numbers
    left out, the text's SMS parts (what each recipient costs), its lint."""

    recipients: int
    opted_out: int
    segments: int
    problems: tuple

    @property
    def needs_confirmation(self) -> bool:
        return self.recipients > broadcasts.CONFIRM_ABOVE


def _members(s: Session, segment: Segment) -> Select:
    """SELECT the segment's producers (id, phone, language); NotFound for an
    unknown product or district, ValueError for an unknown role."""
    if segment.role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if segment.role == "producer":
        link = select(Listing.producer_id)
        if segment.product:
            link = link.where(Listing.product_id == catalogue.by_code(s, segment.product).id)
    else:
        link = select(Order.buyer_id).where(Order.buyer_id.is_not(None))
        if segment.product:
            product_id = catalogue.by_code(s, segment.product).id
            link = link.join(Listing, Listing.id == Order.listing_id).where(Listing.product_id == product_id)
    # IN, not a correlated EXISTS: SQLite would probe the product's listings
    # once per producer (its planner prefers the product index), quadratic.
    query = select(Producer.id, Producer.phone, Producer.language).where(Producer.id.in_(link))
    if segment.district:
        district_id = s.scalar(select(District.id).where(func.lower(District.name) == segment.district.lower()))
        if district_id is None:
            raise NotFound(f"no district {segment.district!r}")
        query = query.where(Producer.district_id == district_id)
    return query


def _opted_out():
    return Producer.phone.in_(select(OptOut.phone))


def preview(s: Session, segment: Segment, text: str) -> Preview:
    """Count the segment (two aggregate statements) and lint the text."""
    members = _members(s, segment)
    total = s.scalar(select(func.count()).select_from(members.subquery())) or 0
    out = s.scalar(select(func.count()).select_from(members.where(_opted_out()).subquery())) or 0
    from_text = broadcasts.lint(text)
    return Preview(total - out, out, smstexts.segments(text), tuple(from_text))


def send(s: Session, segment: Segment, text: str, *, by: str) -> tuple[Broadcast, list[int]]:
    """Write the broadcast to every member not opted out; the message ids
    to enqueue after commit. ValueError for a text with lint errors."""
    members = _members(s, segment)
    recipients = [(phone, str(lang)) for _, phone, lang in s.execute(members.where(~_opted_out())
                                                                     .order_by(Producer.id))]
    out = s.scalar(select(func.count()).select_from(members.where(_opted_out()).subquery())) or 0
    return broadcasts.create(s, text=text, segment=segment.label(), recipients=recipients, skipped=out, by=by)


__all__ = ["ROLES", "NotFound", "Preview", "Segment", "preview", "send"]
