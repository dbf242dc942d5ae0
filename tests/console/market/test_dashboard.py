"""The dashboard draws server-side SVG charts from the recorded data."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from gateway.console.market import analytics
from gateway.console.market import charts
from gateway.market.models import District, Listing, Producer, Product
from gateway.sms.models import Message, MessageStatus
from gateway.orders.models import Order, OrderStatus
from gateway.ussd.models import UssdSessionLog

NOW = datetime.now(timezone.utc)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
NOON_YESTERDAY = datetime.combine(YESTERDAY, time(12), tzinfo=timezone.utc)


def _svg(page: str, chart_id: str) -> str:
    match = re.search(rf'<svg id="{chart_id}".*?</svg>', page, re.S)
    assert match, chart_id
    return match.group(0)


def _bar(svg: str, **attrs) -> str | None:
    for match in re.finditer(r"<rect class=\"bar[^>]*>", svg):
        tag = match.group(0)
        if all(f'data-{k}="{v}"' in tag for k, v in attrs.items()):
            return re.search(r'data-value="(\d+)"', tag).group(1)
    return None


def seed_sessions(db):
    rows = [("Success", "sell_done")] * 3 + [("Incomplete", "sell_price"), ("Incomplete", "ask_name")]
    with db.session() as s:
        for i, (status, screen) in enumerate(rows):
            s.add(UssdSessionLog(session_id=f"ATUid_y{i}", phone="+250788000001", status=status,
                                 date=NOON_YESTERDAY + timedelta(minutes=i), last_screen=screen))
        s.add(UssdSessionLog(session_id="ATUid_t0", status="Failed", date=None, last_screen="buy_confirm",
                             received_at=NOW))
        # outside both windows
        s.add(UssdSessionLog(session_id="ATUid_old", status="Success",
                             date=NOON_YESTERDAY - timedelta(days=40), last_screen="sell_price"))


def seed_orders_and_sms(db):
    with db.session() as s:
        district = s.scalars(select(District)).first()
        product = s.scalars(select(Product)).first()
        p = Producer(phone="+250788000001", name="Uwase", district_id=district.id, language="rw",
                     consented_at=NOW)
        s.add(p)
        s.flush()
        listing = Listing(code="300001", producer_id=p.id, product_id=product.id, quantity=100, unit_price=500)
        s.add(listing)
        s.flush()
        for i, status in enumerate([OrderStatus.ACCEPTED, OrderStatus.ACCEPTED, OrderStatus.PENDING]):
            s.add(Order(code=f"40000{i}", listing_id=listing.id, seller_id=p.id, channel="api", quantity=1,
                        unit_price=500, total=500, status=status, created_at=NOON_YESTERDAY,
                        expires_at=NOON_YESTERDAY + timedelta(hours=2)))
        for i, delivery in enumerate(["Success", "Success", "Success", "Failed"]):
            s.add(Message(recipient="+250788000001", text="hi", language="rw", kind="order_new",
                          status=MessageStatus.SENT, delivery_status=delivery, created_at=NOON_YESTERDAY))
        s.add(Message(recipient="+250788000001", text="hi", language="rw", kind="order_new",
                      status=MessageStatus.QUEUED, created_at=NOON_YESTERDAY))


def test_sessions_chart_has_bars_for_seeded_sessions(viewer, gw):
    seed_sessions(gw.db)
    response = viewer.get("/admin/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    svg = _svg(page, "chart-sessions")
    day = YESTERDAY.isoformat()
    assert _bar(svg, day=day, series="finished") == "3"
    assert _bar(svg, day=day, series="dropped") == "2"
    assert _bar(svg, day=day, series="failed") is None
    assert _bar(svg, day=TODAY.isoformat(), series="failed") == "1"  # no provider date: received_at
    assert "3 finished · 2 dropped · 1 failed" in page
    assert "<script" not in svg and "style=" not in page.split("<main", 1)[1]


def test_funnel_counts_last_screens(viewer, gw):
    seed_sessions(gw.db)
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    listing = _svg(page, "chart-funnel-listing")
    assert _bar(listing, step="sell_price", series="dropped") == "1"
    assert 'data-step="sell_price" x=' in listing and ">1</text>" in listing
    assert _bar(listing, step="sell_product") is None
    assert [m for m in re.findall(r'class="step-total" data-step="([a-z_]+)"', listing)] == list(
        analytics.JOURNEYS["listing"])
    assert _bar(_svg(page, "chart-funnel-registration"), step="ask_name", series="dropped") == "1"
    assert _bar(_svg(page, "chart-funnel-buying"), step="buy_confirm", series="failed") == "1"


def test_orders_and_delivery_rate(viewer, gw):
    seed_orders_and_sms(gw.db)
    page = viewer.get("/admin/dashboard?days=30").get_data(as_text=True)
    day = YESTERDAY.isoformat()
    orders = _svg(page, "chart-orders")
    assert _bar(orders, day=day, series="accepted") == "2" and _bar(orders, day=day, series="pending") == "1"
    assert 'id="delivery-rate">75.0%' in page and "3 delivered of 4 sent" in page
    delivery = _svg(page, "chart-delivery")
    assert f'data-day="{day}" data-value="75"' in delivery
    assert delivery.count('class="point"') == 1


def test_window_is_selectable(viewer, gw):
    seed_sessions(gw.db)
    for days in (14, 30):
        page = viewer.get(f"/admin/dashboard?days={days}").get_data(as_text=True)
        first = (TODAY - timedelta(days=days - 1)).isoformat()
        assert f"{first} to {TODAY.isoformat()}" in page
        assert f'<strong id="window-{days}"' in page
    page = viewer.get("/admin/dashboard?days=999").get_data(as_text=True)
    assert '<strong id="window-14"' in page
    assert 'id="nav-dashboard"' in page


def test_empty_dashboard_renders(viewer):
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    assert "no SMS sent" in page and '<svg id="chart-sessions"' in page


def test_chart_text_is_escaped():
    svg = charts.stacked_bars("c1", "<b>t</b>", ["2026-01-01"], [("k", "<i>x</i>", "#000")],
                              {"2026-01-01": {"k": 2}})
    assert "<b>" not in svg and "<i>" not in svg and "&lt;b&gt;" in svg
    assert 'data-series="k" data-value="2"' in svg
