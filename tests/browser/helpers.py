"""Helpers for browser tests: log in to the console, drive the simulator,
save screenshots. Use them with the fixtures of `tests/browser/conftest.py`."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.ussd.helpers import option

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"

# Browser tests check pages, not SQL dialects: run them on PostgreSQL (the
# production database) only, e.g. `pytestmark = [pytest.mark.browser, ON_POSTGRESQL]`.
ON_POSTGRESQL = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as test-output/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def login(page: Page, username: str, password: str, *, base_url: str | None = None) -> None:
    """Log in through the console's form (fields `username` and `password`).
    With `base_url`, open the log-in page first; else the page must already
    show the form (e.g. after a redirect to it). Waits for the next page."""
    if base_url is not None:
        page.goto(f"{base_url}/admin/login")
    form = page.locator("form:has(input[name=password])")
    form.locator("input[name=username]").wait_for(state="visible")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit]").first.click()


# -- the simulator ---------------------------------------------------------------


def _hops(page: Page) -> int:
    return int(page.get_attribute("#simulator", "data-hops") or "0")


def _wait_for_answer(page: Page, before: int) -> str:
    page.wait_for_function(
        "n => Number(document.getElementById('simulator').dataset.hops) > n", arg=before)
    return screen(page)


def screen(page: Page) -> str:
    """The phone's screen as the provider's reply would show it: the text only."""
    return page.text_content("#screen") or ""


def dial(page: Page) -> str:
    """Press Dial; returns the first screen."""
    before = _hops(page)
    page.click("#dial")
    return _wait_for_answer(page, before)


def send(page: Page, answer: str) -> str:
    """Type an answer and send it; returns the next screen."""
    before = _hops(page)
    page.fill("#reply", answer)
    page.click("#send")
    return _wait_for_answer(page, before)


def choose(page: Page, label: str) -> str:
    """Send the number of the option whose label contains `label`."""
    return send(page, option("CON " + screen(page), label))


def register(page: Page, name: str = "Jean Bosco", district: str = "Gasabo",
             lang: str = "English") -> str:
    """Walk first-dial registration on the simulator; returns the main menu."""
    dial(page)
    choose(page, lang)
    body = send(page, name)
    for _ in range(6):  # 30 districts, 7 a page
        if f". {district}" in body:
            break
        body = send(page, "98")
    choose(page, district)
    return send(page, "1")
