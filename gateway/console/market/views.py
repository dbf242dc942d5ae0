"""The market, read-only: /admin/market (catalogue), producers, listings,
orders (with their history) and messages, plus CSV exports of orders and
messages.

Every operator may read; phone numbers are masked (`gateway.core.phones.mask`)
for viewers and shown in full to editors and admins. Lists page by keyset
(`paging.keyset_page`), newest first; filters live in the query string and the
CSV export takes the same ones, streamed in batches.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.market import paging
from gateway.console.market.forms import ResolveForm
from gateway.console.market.payments import order_payments
from gateway.console.nav import add_item
from gateway.console.present import day_start, stamp
from gateway.core.logs import mask as mask_text
from gateway.core.phones import InvalidPhone, normalize
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.operators import accounts as operators
from gateway.operators.models import Role
from gateway.orders import service as order_service
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.payments import jobs as payment_jobs
from gateway.payments import trade
from gateway.sms.models import Message, MessageStatus

# --- catalogue ---------------------------------------------------------------

@bp.get("/market")
@requires(Role.VIEWER)
def market():
    with services().db.session() as s:
        products = s.scalars(select(Product).order_by(Product.position, Product.id)).all()
        districts = s.scalars(select(District).order_by(District.province_en, District.name)).all()
        s.expunge_all()
    return render_template("console/market/catalogue.html", products=products, districts=districts)


# --- producers ---------------------------------------------------------------

@bp.get("/market/producers")
@requires(Role.VIEWER)
def market_producers():
    masked = paging.hides_phones()
    q = (request.args.get("q") or "").strip()[:64]
    stmt = select(Producer, District.name).join(District, District.id == Producer.district_id)
    if q:
        terms = [Producer.name.ilike("%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
                                     escape="\\")]
        try:
            terms.append(Producer.phone == normalize(q))
        except InvalidPhone:
            digits = re.sub(r"\D", "", q)
            if not masked and len(digits) >= 3:  # partial numbers only for those who see numbers
                terms.append(Producer.phone.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*terms))
    with services().db.session() as s:
        rows, newer, older = paging.keyset_page(s, stmt, Producer.id)
        items = [{"id": p.id, "name": p.name, "phone": paging.shown_phone(p.phone, masked), "district": district,
                  "language": p.language.value, "created_at": p.created_at} for p, district in rows]
    filters = {"q": q} if q else {}
    return render_template("console/market/producers.html", items=items, filters=filters,
                           newer=newer, older=older, masked=masked)


# --- listings ----------------------------------------------------------------

@bp.get("/market/listings")
@requires(Role.VIEWER)
def market_listings():
    masked = paging.hides_phones()
    status = paging.query_choice("status", {s.value for s in ListingStatus})
    with services().db.session() as s:
        products = s.scalars(select(Product).order_by(Product.position, Product.id)).all()
        codes = {p.code: p for p in products}
        product = paging.query_choice("product", codes)
        stmt = (select(Listing, Producer.name, Producer.phone)
                .join(Producer, Producer.id == Listing.producer_id))
        if status:
            stmt = stmt.where(Listing.status == ListingStatus(status))
        if product:
            stmt = stmt.where(Listing.product_id == codes[product].id)
        rows, newer, older = paging.keyset_page(s, stmt, Listing.id)
        names = {p.id: p.name_en for p in products}
        items = [{"code": li.code, "product": names.get(li.product_id, "?"), "grade": li.grade or "",
                  "quantity": li.quantity, "unit_price": li.unit_price, "status": li.status.value,
                  "producer": name, "phone": paging.shown_phone(phone, masked), "created_at": li.created_at}
                 for li, name, phone in rows]
        product_choices = [(p.code, p.name_en) for p in products]
    filters = {k: v for k, v in (("status", status), ("product", product)) if v}
    return render_template("console/market/listings.html", items=items, filters=filters, newer=newer,
                           older=older, statuses=[s.value for s in ListingStatus], products=product_choices)


# --- orders ------------------------------------------------------------------

_Seller = aliased(Producer, name="seller")
# A USSD order's buyer is a producer (`Order.buyer_id`); an API order names its
# buyer in its own columns. The order pages show whichever the order has.
_Buyer = aliased(Producer, name="buyer")
_ORDER_COLUMNS = (Order, Listing.product_id, Listing.grade, _Seller.name, _Seller.phone, _Buyer.name,
                  _Buyer.phone)


def _order_select():
    return (select(*_ORDER_COLUMNS)
            .join(Listing, Listing.id == Order.listing_id)
            .join(_Seller, _Seller.id == Order.seller_id)
            .outerjoin(_Buyer, _Buyer.id == Order.buyer_id))

ORDER_CSV_HEADER = ["code", "created_at", "status", "channel", "product", "grade", "quantity", "unit_price",
                    "total", "seller", "seller_phone", "buyer", "buyer_phone", "expires_at", "answered_at"]


def _order_filters():
    status = paging.query_choice("status", {s.value for s in OrderStatus})
    start, end = paging.query_day("from"), paging.query_day("to")
    stmt = _order_select()
    if status:
        stmt = stmt.where(Order.status == OrderStatus(status))
    # The days are the console's local days, as the list shows its times.
    if start:
        stmt = stmt.where(Order.created_at >= day_start(start))
    if end:
        stmt = stmt.where(Order.created_at < day_start(end + timedelta(days=1)))
    filters = {k: v for k, v in (("status", status), ("from", start and start.isoformat()),
                                 ("to", end and end.isoformat())) if v}
    return stmt, filters


def _order_item(row, names, masked) -> dict:
    o, product_id, grade, seller, seller_phone, buyer, buyer_phone = row
    return {"id": o.id, "code": o.code, "created_at": o.created_at, "status": o.status.value,
            "channel": o.channel, "product": names.get(product_id, "?"), "grade": grade or "",
            "quantity": o.quantity, "unit_price": o.unit_price, "total": o.total, "seller": seller,
            "seller_phone": paging.shown_phone(seller_phone, masked), "buyer": o.buyer_name or buyer or "",
            "buyer_phone": paging.shown_phone(o.buyer_phone or buyer_phone, masked), "expires_at": o.expires_at,
            "answered_at": o.answered_at}


@bp.get("/market/orders")
@requires(Role.VIEWER)
def market_orders():
    masked = paging.hides_phones()
    stmt, filters = _order_filters()
    with services().db.session() as s:
        names = paging.product_names(s)
        rows, newer, older = paging.keyset_page(s, stmt, Order.id)
        items = [_order_item(r, names, masked) for r in rows]
    return render_template("console/market/orders.html", items=items, filters=filters, newer=newer,
                           older=older, statuses=[s.value for s in OrderStatus])


@bp.get("/market/orders.csv")
@requires(Role.VIEWER)
def market_orders_csv():
    masked = paging.hides_phones()
    stmt, _ = _order_filters()
    with services().db.session() as s:
        names = paging.product_names(s)

    def row(r):
        item = _order_item(r, names, masked)
        for k in ("created_at", "expires_at", "answered_at"):
            item[k] = stamp(item[k])
        return [item[k] if k.endswith("phone") else paging.csv_cell(item[k]) for k in ORDER_CSV_HEADER]

    return paging.csv_response("orders.csv", ORDER_CSV_HEADER, stmt, Order.id, row)


@bp.get("/market/orders/<int:order_id>")
@requires(Role.VIEWER)
def market_order(order_id: int):
    masked = paging.hides_phones()
    with services().db.session() as s:
        row = s.execute(_order_select().where(Order.id == order_id)).first()
        if row is None:
            abort(404)
        item = _order_item(row, paging.product_names(s), masked)
        listing_code = s.scalar(select(Listing.code).where(Listing.id == row[0].listing_id))
        events = [{"status": e.status.value, "actor": e.actor, "at": e.at}
                  for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                     .order_by(OrderEvent.id))]
        messages = [{"at": m.created_at, "to": paging.shown_phone(m.recipient, masked), "kind": m.kind,
                     "status": m.status.value, "text": mask_text(m.text) if masked else m.text}
                    for m in _order_messages(s, row)]
        delivered_at = row[0].delivered_at
        payments = order_payments(s, order_id, masked)
    return render_template("console/market/order.html", order=item, events=events, listing_code=listing_code,
                           messages=messages, delivered_at=delivered_at, form=ResolveForm(),
                           payments=payments,
                           can_resolve=item["status"] == OrderStatus.DISPUTED
                           and current_operator().can(Role.EDITOR))


def _order_messages(s, row) -> list[Message]:
    """The SMS about this order: to its seller or buyer, naming its code, since it was placed."""
    o, *_rest, seller_phone, _buyer, buyer_phone = row
    phones = [p for p in (seller_phone, o.buyer_phone, buyer_phone) if p]
    return list(s.scalars(select(Message).where(Message.recipient.in_(phones),
                                                Message.created_at >= o.created_at,
                                                Message.text.contains(o.code))
                          .order_by(Message.id).limit(50)))


RESOLUTIONS = ("delivered", "cancelled")


@bp.post("/market/orders/<int:order_id>/resolve")
@requires(Role.EDITOR)
def market_order_resolve(order_id: int):
    """End a dispute with what happened: the goods were delivered, or the
    order is cancelled (its quantity goes back on sale)."""
    form = ResolveForm()
    if not form.validate() or form.outcome.data not in RESOLUTIONS:
        abort(400, description="choose delivered or cancelled")
    op = current_operator()
    with services().db.session() as s:
        order = s.get(Order, order_id)
        if order is None:
            abort(404)
        try:
            step = trade.resolve_dispute(s, order, form.outcome.data, op.username, services().settings.momo)
        except order_service.OrderClosed as exc:
            flash(f"Order {order.code} is {exc.status}, not disputed.")
            return redirect(url_for("console.market_order", order_id=order_id))
        operators.audit(s, "order_resolve", by=op, target=order.code, detail=form.outcome.data)
        code = order.code
    for payment_id in step.payments:  # the seller's transfer; the payment tick would find it too
        payment_jobs.enqueue(services().redis, payment_id)
    flash(f"Order {code}: dispute resolved as {form.outcome.data}.")
    return redirect(url_for("console.market_order", order_id=order_id))


# --- messages ----------------------------------------------------------------

MESSAGE_CSV_HEADER = ["id", "created_at", "recipient", "kind", "language", "status", "attempts", "segments",
                      "cost", "delivery_status", "delivered_at", "failure_reason", "error", "text"]


def _message_filters():
    status = paging.query_choice("status", {s.value for s in MessageStatus})
    kind = (request.args.get("kind") or "").strip()[:32] or None
    delivery = (request.args.get("delivery") or "").strip()[:24] or None
    stmt = select(Message)
    if status:
        stmt = stmt.where(Message.status == MessageStatus(status))
    if kind:
        stmt = stmt.where(Message.kind == kind)
    if delivery:
        stmt = stmt.where(Message.delivery_status.is_(None) if delivery == "none"
                          else Message.delivery_status == delivery)
    filters = {k: v for k, v in (("status", status), ("kind", kind), ("delivery", delivery)) if v}
    return stmt, filters


def _message_item(m: Message, masked: bool) -> dict:
    return {"id": m.id, "created_at": m.created_at, "recipient": paging.shown_phone(m.recipient, masked), "kind": m.kind,
            "language": m.language.value, "status": m.status.value, "attempts": m.attempts,
            "segments": m.segments, "cost": m.cost or "", "delivery_status": m.delivery_status or "",
            "delivered_at": m.delivered_at, "failure_reason": m.failure_reason or "",
            "error": m.error or "", "text": paging.shown_text(m.text, masked)}


@bp.get("/market/messages")
@requires(Role.VIEWER)
def market_messages():
    masked = paging.hides_phones()
    stmt, filters = _message_filters()
    with services().db.session() as s:
        rows, newer, older = paging.keyset_page(s, stmt, Message.id)
        items = [_message_item(r[0], masked) for r in rows]
        kinds = sorted(k for k in s.scalars(select(Message.kind).distinct()) if k)
    return render_template("console/market/messages.html", items=items, filters=filters, newer=newer,
                           older=older, statuses=[s.value for s in MessageStatus], kinds=kinds,
                           deliveries=["Sent", "Submitted", "Buffered", "Success", "Failed", "Rejected",
                                       "AbsentSubscriber", "Expired", "none"])


@bp.get("/market/messages.csv")
@requires(Role.VIEWER)
def market_messages_csv():
    masked = paging.hides_phones()
    stmt, _ = _message_filters()

    def row(r):
        item = _message_item(r[0], masked)
        for k in ("created_at", "delivered_at"):
            item[k] = stamp(item[k])
        return [item[k] if k == "recipient" else paging.csv_cell(item[k]) for k in MESSAGE_CSV_HEADER]

    return paging.csv_response("messages.csv", MESSAGE_CSV_HEADER, stmt, Message.id, row)


add_item("Market", "console.market")
