"""The market pages: catalogue, producers, listings, orders, messages, CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from gateway.console.market import paging
from gateway.console.market import views as views_market
from gateway.market.models import District, Listing, ListingStatus, Producer, Product
from gateway.sms.models import Message, MessageStatus
from gateway.orders.models import Order, OrderEvent, OrderStatus
from gateway.core.phones import mask
from gateway.operators import accounts as operators
from gateway.operators.models import Role
from gateway.orders.service import place_order
from tests.console.conftest import PASSWORD, Console

XSS = '<script>alert("x")</script>'
SELLER = "+250788000001"
BUYER = "+250788000002"
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def seed_market(db, *, orders: int = 4, messages: int = 3) -> dict:
    with db.session() as s:
        district = s.scalars(select(District).order_by(District.id)).first()
        products = s.scalars(select(Product).order_by(Product.position, Product.id)).all()
        seller = Producer(phone=SELLER, name=XSS, district_id=district.id, language="en", consented_at=T0)
        buyer = Producer(phone=BUYER, name="Mukamana", district_id=district.id, language="rw", consented_at=T0)
        s.add_all([seller, buyer])
        s.flush()
        l1 = Listing(code="100001", producer_id=seller.id, product_id=products[0].id, quantity=50,
                     unit_price=400, status=ListingStatus.ACTIVE)
        l2 = Listing(code="100002", producer_id=seller.id, product_id=products[1].id, quantity=5,
                     unit_price=900, status=ListingStatus.WITHDRAWN)
        s.add_all([l1, l2])
        s.flush()
        statuses = [OrderStatus.PENDING, OrderStatus.ACCEPTED, OrderStatus.REJECTED, OrderStatus.EXPIRED]
        for i in range(orders):
            status = statuses[i % len(statuses)]
            at = T0 + timedelta(days=i)
            o = Order(code=f"{200000 + i}", listing_id=l1.id, seller_id=seller.id, buyer_id=buyer.id,
                      buyer_phone=BUYER, buyer_name="Mukamana", channel="ussd", quantity=2, unit_price=400,
                      total=800, status=status, created_at=at, expires_at=at + timedelta(hours=2))
            s.add(o)
            s.flush()
            s.add(OrderEvent(order_id=o.id, status=OrderStatus.PENDING, actor="buyer", at=at))
            if status != OrderStatus.PENDING:
                s.add(OrderEvent(order_id=o.id, status=status, actor="seller", at=at + timedelta(minutes=5)))
        for i in range(messages):
            s.add(Message(recipient=SELLER, text=f"Order from {BUYER} #{i}", language="en",
                          kind="order_new" if i % 2 == 0 else "order_accepted",
                          status=MessageStatus.SENT if i else MessageStatus.FAILED, cost="RWF 15.0000",
                          delivery_status="Success" if i else None, created_at=T0 + timedelta(hours=i)))
        return {"seller": seller.id, "products": [p.code for p in products[:2]]}


def test_catalogue_lists_products_and_districts(viewer, gw):
    page = viewer.get("/admin/market").get_data(as_text=True)
    with gw.db.session() as s:
        product = s.scalars(select(Product).order_by(Product.position)).first()
        district = s.scalars(select(District)).first()
        n_districts = len(s.scalars(select(District)).all())
    assert f'data-product="{product.code}"' in page
    assert product.name_en in page and f"{product.reference_price:,} RWF" in page
    assert district.name in page and n_districts == 30
    assert 'id="nav-market"' in page and 'href="/admin/market"' in page


def test_viewer_sees_masked_numbers_editor_full(viewer, editor, gw):
    seed_market(gw.db)
    for url in ("/admin/market/producers", "/admin/market/listings", "/admin/market/orders",
                "/admin/market/messages"):
        seen_by_viewer = viewer.get(url).get_data(as_text=True)
        assert SELLER not in seen_by_viewer and mask(SELLER) in seen_by_viewer, url
        assert BUYER not in seen_by_viewer if url != "/admin/market/listings" else True
        assert SELLER in editor.get(url).get_data(as_text=True), url
    with gw.db.session() as s:
        order_id = s.scalar(select(Order.id).order_by(Order.id))
    detail = viewer.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)
    assert mask(BUYER) in detail and BUYER not in detail
    assert BUYER in editor.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)


def test_user_text_is_escaped(viewer, gw):
    seed_market(gw.db)
    for url in ("/admin/market/producers", "/admin/market/listings", "/admin/market/orders",
                f"/admin/market/producers?q={XSS}"):
        page = viewer.get(url).get_data(as_text=True)
        assert "<script>alert" not in page, url
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in viewer.get("/admin/market/producers").get_data(as_text=True)


def test_producer_search_by_name_and_number(viewer, editor, gw):
    seed_market(gw.db)
    page = viewer.get("/admin/market/producers?q=mukam").get_data(as_text=True)
    assert page.count('class="producer"') == 1 and "Mukamana" in page
    page = viewer.get("/admin/market/producers?q=0788000001").get_data(as_text=True)
    assert page.count('class="producer"') == 1 and mask(SELLER) in page
    # partial digits: only for those who see numbers
    assert viewer.get("/admin/market/producers?q=8000002").get_data(as_text=True).count('class="producer"') == 0
    assert editor.get("/admin/market/producers?q=8000002").get_data(as_text=True).count('class="producer"') == 1


def test_listing_filters(viewer, gw):
    info = seed_market(gw.db)
    page = viewer.get("/admin/market/listings?status=withdrawn").get_data(as_text=True)
    assert 'data-code="100002"' in page and 'data-code="100001"' not in page
    page = viewer.get(f"/admin/market/listings?product={info['products'][0]}").get_data(as_text=True)
    assert 'data-code="100001"' in page and 'data-code="100002"' not in page
    assert viewer.get("/admin/market/listings?status=nonsense").status_code == 400


def test_order_filters_and_history(viewer, gw):
    seed_market(gw.db)
    page = viewer.get("/admin/market/orders?status=accepted").get_data(as_text=True)
    assert page.count('class="order"') == 1 and 'data-code="200001"' in page
    page = viewer.get("/admin/market/orders?from=2026-03-11&to=2026-03-12").get_data(as_text=True)
    assert page.count('class="order"') == 2
    assert 'data-code="200001"' in page and 'data-code="200002"' in page
    assert viewer.get("/admin/market/orders?from=yesterday").status_code == 400
    with gw.db.session() as s:
        order_id = s.scalar(select(Order.id).where(Order.code == "200001"))
    detail = viewer.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)
    assert detail.count('class="order-event"') == 2
    assert 'data-status="pending"' in detail and 'data-status="accepted"' in detail
    assert viewer.get("/admin/market/orders/999999").status_code == 404


def test_orders_paginate_by_keyset(viewer, gw, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    seed_market(gw.db, orders=7)
    seen = []
    url = "/admin/market/orders"
    pages = 0
    while url:
        page = viewer.get(url).get_data(as_text=True)
        codes = [c for c in (f"{200000 + i}" for i in range(7)) if f'data-code="{c}"' in page]
        assert len(codes) <= 3
        seen += codes
        pages += 1
        marker = 'id="page-next" href="'
        url = page.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&") if marker in page else None
    assert pages == 3 and sorted(seen) == [f"{200000 + i}" for i in range(7)]
    # back from the last page
    last = viewer.get("/admin/market/orders?before=" + str(_order_id(gw, "200002"))).get_data(as_text=True)
    prev_url = last.split('id="page-prev" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    newer = viewer.get(prev_url).get_data(as_text=True)
    assert all(f'data-code="{c}"' in newer for c in ("200002", "200003", "200004"))
    # filters ride along in the pager links
    filtered = viewer.get("/admin/market/orders?status=pending").get_data(as_text=True)
    assert filtered.count('class="order"') == 2 and 'id="page-next"' not in filtered


def _order_id(gw, code):
    with gw.db.session() as s:
        return s.scalar(select(Order.id).where(Order.code == code))


def test_message_filters_show_delivery_and_cost(viewer, gw):
    seed_market(gw.db)
    page = viewer.get("/admin/market/messages?status=sent&kind=order_accepted").get_data(as_text=True)
    assert page.count('class="message"') == 1 and "Success" in page and "RWF 15.0000" in page
    assert BUYER not in page and mask(BUYER) in page  # numbers inside SMS texts too
    assert viewer.get("/admin/market/messages?delivery=none").get_data(as_text=True).count('class="message"') == 1


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_orders_csv_filtered_and_masked(who, request, gw):
    client = request.getfixturevalue(who)
    seed_market(gw.db)
    response = client.get("/admin/market/orders.csv?status=rejected")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == views_market.ORDER_CSV_HEADER
    assert len(rows) == 2 and rows[1][0] == "200002" and rows[1][2] == "rejected"
    record = dict(zip(rows[0], rows[1]))
    assert record["seller_phone"] == (mask(SELLER) if who == "viewer" else SELLER)
    assert record["seller"] == XSS  # CSV is not HTML; a formula start would be defused


def test_messages_csv_batches_and_masks(viewer, gw, monkeypatch):
    monkeypatch.setattr(paging, "CSV_BATCH", 2)
    seed_market(gw.db, messages=5)
    rows = list(csv.reader(io.StringIO(viewer.get("/admin/market/messages.csv").get_data(as_text=True))))
    assert rows[0] == views_market.MESSAGE_CSV_HEADER and len(rows) == 6
    assert {r[2] for r in rows[1:]} == {mask(SELLER)}
    rows = list(csv.reader(io.StringIO(viewer.get("/admin/market/messages.csv?kind=order_new").get_data(as_text=True))))
    assert len(rows) == 4 and {r[3] for r in rows[1:]} == {"order_new"}


def test_market_needs_login(client_factory):
    anonymous = client_factory()
    response = anonymous.get("/admin/market/orders.csv")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


# --- the truth: the buyer of a USSD order, and Kigali's time -------------------

def _ussd_order(db, *, at: datetime | None = None) -> int:
    """An order placed as the USSD action places it: the buyer is only a producer id."""
    with db.session() as s:
        buyer = s.scalar(select(Producer).where(Producer.phone == BUYER))
        listing = s.scalar(select(Listing).where(Listing.code == "100001"))
        order, _ = place_order(s, listing_id=listing.id, quantity=1, buyer_id=buyer.id, channel="ussd")
        if at is not None:
            order.created_at = at
        s.flush()
        return order.id


def test_the_buyer_of_a_ussd_order_is_shown_masked_for_viewers(viewer, editor, gw):
    seed_market(gw.db, orders=0)
    order_id = _ussd_order(gw.db)
    with gw.db.session() as s:
        assert s.get(Order, order_id).buyer_phone is None  # nothing but buyer_id names the buyer
    for url in (f"/admin/market/orders/{order_id}", "/admin/market/orders"):
        seen = viewer.get(url).get_data(as_text=True)
        assert "Mukamana" in seen and mask(BUYER) in seen and BUYER not in seen, url
        assert BUYER in editor.get(url).get_data(as_text=True), url
    rows = list(csv.reader(io.StringIO(viewer.get("/admin/market/orders.csv").get_data(as_text=True))))
    row = dict(zip(rows[0], rows[1]))
    assert (row["buyer"], row["buyer_phone"]) == ("Mukamana", mask(BUYER))


def test_times_are_shown_in_kigali_time_and_say_so(viewer, gw):
    seed_market(gw.db, orders=2, messages=1)  # order 200000 at 09:00 UTC = 11:00 in Kigali
    with gw.db.session() as s:
        order_id = s.scalar(select(Order.id).where(Order.code == "200000"))
    for url in ("/admin/market/orders", f"/admin/market/orders/{order_id}", "/admin/market/messages"):
        page = viewer.get(url).get_data(as_text=True)
        assert "2026-03-10 11:00 CAT" in page, url
        assert "09:00" not in page and " UTC" not in page, url
        assert "Times are shown in Africa/Kigali." in page, url
    detail = viewer.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)
    assert "2026-03-10 11:00 CAT" in detail.split('id="order-events"')[1]  # the history too
    rows = list(csv.reader(io.StringIO(viewer.get("/admin/market/orders.csv").get_data(as_text=True))))
    row = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}["200000"]
    assert row["created_at"] == "2026-03-10T11:00:00+02:00" and row["expires_at"] == "2026-03-10T13:00:00+02:00"
    rows = list(csv.reader(io.StringIO(viewer.get("/admin/market/messages.csv").get_data(as_text=True))))
    assert dict(zip(rows[0], rows[1]))["created_at"] == "2026-03-10T11:00:00+02:00"


def test_order_day_filters_are_kigali_days(viewer, gw):
    seed_market(gw.db, orders=0)
    # 22:30 UTC on the 10th is 00:30 on the 11th in Kigali.
    _ussd_order(gw.db, at=datetime(2026, 3, 10, 22, 30, tzinfo=timezone.utc))
    on_11th = viewer.get("/admin/market/orders?from=2026-03-11&to=2026-03-11").get_data(as_text=True)
    assert on_11th.count('class="order"') == 1 and "2026-03-11 00:30 CAT" in on_11th
    on_10th = viewer.get("/admin/market/orders?from=2026-03-10&to=2026-03-10").get_data(as_text=True)
    assert on_10th.count('class="order"') == 0


def test_another_time_zone_is_honoured_to_the_quarter_hour(gateway_factory):
    gw = gateway_factory(env={"TZ": "Asia/Kathmandu"})  # UTC+05:45
    seed_market(gw.db, orders=1, messages=0)
    with gw.db.session() as s:
        operators.create(s, "kim", PASSWORD, Role.VIEWER, actor="test")
    console = Console(gw, gw.http)
    assert console.login("kim").status_code == 302
    page = console.get("/admin/market/orders").get_data(as_text=True)
    assert "2026-03-10 14:45 +0545" in page and "Times are shown in Asia/Kathmandu." in page


def test_messages_for_an_operator_are_listed_by_the_review_status(viewer, gw):
    seed_market(gw.db)
    with gw.db.session() as s:
        s.add(Message(recipient=SELLER, text="Isoko: lost in a crash", language="en", kind="listing_receipt",
                      status=MessageStatus.REVIEW, error="unknown: the worker stopped during the send",
                      created_at=T0))
    page = viewer.get("/admin/market/messages?status=review").get_data(as_text=True)
    assert page.count('class="message"') == 1 and "lost in a crash" in page
    assert 'value="review"' in page and 'value="unknown"' in page  # the filter offers both
