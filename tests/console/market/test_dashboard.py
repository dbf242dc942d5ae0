"""The dashboard draws server-side SVG charts from the recorded data."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from pathlib import Path

import pytest
import yaml
from rq import SimpleWorker
from sqlalchemy import select

from gateway.console.market import analytics
from gateway.console.market import charts
from gateway.console.market import dashboard
from gateway.core import jobs as context
from gateway.sms import queue as queues
from gateway.ussd.sessionlog import drain_hops
from gateway.ussd.sessions import HOPS_STREAM
from gateway.worker import periodic
from menus.loader import load
from tests.sim.fixtures import restore_signals  # noqa: F401
from tests.ussd.helpers import Phone, option, register
from gateway.market.models import District, Listing, Producer, Product
from gateway.sms.models import Message, MessageStatus
from gateway.orders.models import Order, OrderStatus
from gateway.ussd.models import UssdSessionLog

MENU_FILE = Path(__file__).resolve().parents[3] / "menus" / "definitions" / "marketplace.yaml"
KIGALI = ZoneInfo("Africa/Kigali")  # the default TZ: the dashboard's days are Kigali's
NOW = datetime.now(timezone.utc)
TODAY = NOW.astimezone(KIGALI).date()
YESTERDAY = TODAY - timedelta(days=1)
NOON_YESTERDAY = datetime.combine(YESTERDAY, time(12), tzinfo=KIGALI).astimezone(timezone.utc)


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


# --- sessions from the gateway's own records --------------------------------

def _run_periodic_drain(gw) -> None:
    """What a worker does every 10 s: the tick queues the drain, a worker runs it."""
    context.configure(gw.db.url.render_as_string(hide_password=False), settings=gw.services.settings)
    try:
        assert periodic.tick(gw.redis, [(10, drain_hops)]) == ["gateway.ussd.sessionlog.drain_hops"]
        SimpleWorker([queues.PERIODIC_QUEUE], connection=gw.redis, serializer=queues.SERIALIZER).work(burst=True)
    finally:
        context.reset()


@pytest.mark.usefixtures("restore_signals")
def test_a_journey_dialled_through_the_callback_is_counted_after_the_periodic_drain(viewer, gw):
    phone = Phone(gw.http)
    register(phone)  # a session left on the main menu: still in progress
    body = phone.hop(option(phone.dial(), "Sell"))
    assert phone.walk(option(body, "Coffee cherry"), "50", "700", "1").startswith("END Listed!")
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    assert "0 finished · 0 dropped · 0 failed" in page  # not drained yet
    _run_periodic_drain(gw)
    assert gw.redis.xlen(HOPS_STREAM) == 0
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    svg = _svg(page, "chart-sessions")
    assert _bar(svg, day=TODAY.isoformat(), series="finished") == "1"
    assert _bar(svg, day=TODAY.isoformat(), series="active") == "1"
    assert "1 finished · 0 dropped · 0 failed · 1 in progress" in page


def _gateway_session(db, sid, *, screen, last_hop, started, idle=timedelta(0), status=None):
    with db.session() as s:
        s.add(UssdSessionLog(session_id=sid, started_at=started, last_hop_at=started + idle, hop_count=3,
                             last_hop=last_hop, last_screen=screen, language="en", status=status))


def test_a_session_idle_after_a_question_counts_as_dropped_at_its_screen(viewer, gw):
    ttl = gw.services.settings.session_ttl_seconds
    now = datetime.now(timezone.utc)  # not NOW: the module's import can be minutes old in a long run
    long_ago = now - timedelta(hours=1)
    _gateway_session(gw.db, "idle", screen="sell_price", last_hop="continue", started=long_ago)
    _gateway_session(gw.db, "live", screen="sell_quantity", last_hop="continue", started=now)
    _gateway_session(gw.db, "told", screen="buy_quantity", last_hop="continue", started=now, status="Incomplete")
    _gateway_session(gw.db, "done", screen="sell_done", last_hop="end", started=long_ago, status="Incomplete")
    _gateway_session(gw.db, "oops", screen="buy_confirm", last_hop="error", started=long_ago)
    _gateway_session(gw.db, "edge", screen="ask_name", last_hop="continue",
                     started=now - timedelta(seconds=ttl + 30))  # idle just past the TTL
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    assert "1 finished · 3 dropped · 1 failed · 1 in progress" in page
    listing = _svg(page, "chart-funnel-listing")
    assert _bar(listing, step="sell_price", series="dropped") == "1"
    assert _bar(listing, step="sell_quantity") is None  # still in progress: not where it ended
    assert _bar(_svg(page, "chart-funnel-buying"), step="buy_quantity", series="dropped") == "1"
    assert _bar(_svg(page, "chart-funnel-buying"), step="buy_confirm", series="failed") == "1"
    assert _bar(_svg(page, "chart-funnel-registration"), step="ask_name", series="dropped") == "1"


def test_days_are_kigali_days(viewer, gw):
    # 22:30 UTC yesterday (UTC) is 00:30 today in Kigali.
    late = datetime.combine(TODAY - timedelta(days=1), time(22, 30), tzinfo=timezone.utc)
    _gateway_session(gw.db, "late", screen="sell_done", last_hop="end", started=late)
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    svg = _svg(page, "chart-sessions")
    assert _bar(svg, day=TODAY.isoformat(), series="finished") == "1"
    assert _bar(svg, day=(TODAY - timedelta(days=1)).isoformat(), series="finished") is None
    assert "days in Africa/Kigali" in page


def test_the_funnel_names_screens_by_their_text(viewer, gw):
    seed_sessions(gw.db)
    page = viewer.get("/admin/dashboard").get_data(as_text=True)
    listing = _svg(page, "chart-funnel-listing")
    labels = dict(re.findall(r'class="step-label" data-step="([a-z_]+)"[^>]*><title>([^<]*)</title>', listing))
    assert labels["sell_price"] == "Price per [product unit] in RWF?"
    assert labels["sell_quantity"] == "[product label]: quantity ([product unit])?"
    assert ">sell_price<" not in listing and ">sell_quantity<" not in listing
    registration = _svg(page, "chart-funnel-registration")
    assert "What is your name?" in registration


def test_screen_titles_fall_back_to_the_id():
    menu = load(yaml.safe_load(MENU_FILE.read_text()), 1)
    assert dashboard.screen_title(menu, "no_such_screen") == "no_such_screen"
    assert dashboard.screen_title(None, "sell_price") == "sell_price"
    assert dashboard.screen_title(menu, "ask_name") == "What is your name?"
    assert dashboard.screen_title(menu, "language").startswith("Isoko / ")
