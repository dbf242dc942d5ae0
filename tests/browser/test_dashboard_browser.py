"""The dashboard in a real Chromium tells the truth (issue 8, point 12): an
operator logs in and lands on it; journeys dialled on the simulator show up
once the worker has drained the hop stream, in Kigali's days, with the
funnel naming screens by their text. Screenshot:
test-output/screenshots/dashboard-sessions.png."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from gateway.operators import accounts as operators
from gateway.operators.models import Role
from tests.browser.helpers import ON_POSTGRESQL, choose, dial, login, register, screenshot, send

pytestmark = [pytest.mark.browser, ON_POSTGRESQL]

PASSWORD = "correct horse battery"


def test_dialled_sessions_reach_the_dashboard(live_server, worker, page):
    base = live_server.url
    with live_server.gateway.db.session() as s:
        operators.create(s, "vera", PASSWORD, Role.VIEWER, actor="test")

    # Two sessions on the simulator: registration (left on the main menu),
    # then a listing to its END.
    page.goto(f"{base}/simulator")
    page.locator("#dial").wait_for(state="visible")
    page.fill("#phone", "+250788100301")
    register(page)
    page.click("#hangup")
    dial(page)
    choose(page, "Sell")
    choose(page, "Coffee cherry")
    send(page, "50")
    assert send(page, "700").startswith("Coffee cherry")
    assert "Listed!" in send(page, "1")

    login(page, "vera", PASSWORD, base_url=base)
    expect(page).to_have_url(re.compile(r"/admin/dashboard$"))  # log-in lands on the dashboard
    totals = page.locator("#session-totals")
    deadline = time.monotonic() + 30  # the worker drains every 10 s
    while "1 finished" not in (totals.text_content() or "") and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    expect(totals).to_contain_text("1 finished")
    expect(totals).to_contain_text("1 in progress")
    expect(page.locator("#window-days")).to_contain_text("days in Africa/Kigali")
    expect(page.locator("#time-zone")).to_have_text("Times are shown in Africa/Kigali.")
    expect(page.locator('#chart-funnel-listing .step-label[data-step="sell_price"]')).to_contain_text(
        "Price per [product unit]")
    screenshot(page, "dashboard-sessions")
