"""The phone simulator in a real Chromium: dial, register, list goods, and
read the listing's receipt in the phone's SMS inbox once a worker sent it;
dial a draft; the operator-only mode behind the console's log-in."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gateway.ussd import menustore
from gateway.operators import accounts as operators
from gateway.operators.models import Draft, Role
from tests.browser.helpers import ON_POSTGRESQL, choose, dial, login, register, screenshot, send

pytestmark = [pytest.mark.browser, ON_POSTGRESQL]

SHIPPED = menustore.SHIPPED.joinpath("marketplace.yaml").read_text(encoding="utf-8")


def test_dial_register_list_and_read_the_receipt(live_server, worker, phone_page):
    page = phone_page
    page.goto(f"{live_server.url}/simulator")
    page.fill("#phone", "+250788000123")
    page.select_option("#network", "63514")
    main = register(page)
    assert main.startswith("Isoko: Hello Jean Bosco")
    expect(page.locator("#session-state")).to_have_text("waiting for your answer")
    choose(page, "Sell")
    choose(page, "Coffee cherry")
    send(page, "50")
    summary = send(page, "700")
    assert "Total: 35,000 RWF" in summary
    assert page.text_content("#count") == str(len(summary))  # no extension characters here
    done = send(page, "1")
    assert done.startswith("Listed! Code: ")
    expect(page.locator("#session-state")).to_have_text("ended")
    expect(page.locator("#reply")).to_be_disabled()
    code = done.split("Code: ")[1][:6]
    receipt = page.locator("#messages .sms").filter(has_text=f"listing {code} saved")
    expect(receipt).to_have_attribute("data-status", "sent", timeout=15_000)
    expect(page.locator("#inbox-phone")).to_have_text("of +250788000123")
    screenshot(page, "simulator")


def test_the_simulator_on_a_laptop_screen(live_server, page):
    page.goto(f"{live_server.url}/simulator")
    first = dial(page)
    assert "English" in first
    count = int(page.text_content("#count"))
    assert count == len(first) and count <= 160
    screenshot(page, "simulator-desktop")
    page.click("#hangup")
    expect(page.locator("#session-state")).to_have_text("hung up")
    expect(page.locator("#dial")).to_be_enabled()


def test_dial_the_draft(live_server, phone_page):
    with live_server.gateway.db.session() as s:
        s.add(Draft(name="marketplace", source=SHIPPED.replace("Sell goods", "Sell draft goods"),
                    base_version=1, updated_by="editor"))
    page = phone_page
    page.goto(f"{live_server.url}/simulator")
    assert "1. Sell goods" in register(page)  # the published menu
    expect(page.locator("#draft")).to_be_enabled()
    expect(page.locator("#draft-status")).to_contain_text("Draft of marketplace")
    page.check("#draft")
    assert "1. Sell draft goods" in dial(page)
    screenshot(page, "simulator-draft")
    assert choose(page, "Sell draft goods").startswith("What are you selling?")
    page.uncheck("#draft")
    assert "1. Sell goods" in dial(page)


def test_behind_a_callback_token_only_an_operator_gets_the_simulator(live_server_factory, new_page):
    live = live_server_factory({"CALLBACK_TOKEN": "a-long-random-callback-secret"})
    with live.gateway.db.session() as s:
        operators.create(s, "ops", "a long operator password", Role.EDITOR)
    page = new_page()
    page.goto(f"{live.url}/simulator")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    login(page, "ops", "a long operator password")
    page.goto(f"{live.url}/simulator")
    assert "English" in dial(page)  # through /simulator/ussd, with the CSRF token
    assert "What is your name?" in choose(page, "English")
    stranger = new_page()
    response = stranger.request.get(f"{live.url}/simulator/inbox?phone=%2B250788000001")
    assert response.status == 403
