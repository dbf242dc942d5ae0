"""The operator console in a real Chromium (issue 4's acceptance): an editor
logs in, makes a screen's French text too long and sees the lint error at
that screen, fixes it, publishes, hears the new text on the simulator, rolls
back and hears the old one; a viewer cannot publish. Screenshots of the
editor, the preview, the simulator and (when it exists) the dashboard go to
test-output/screenshots/console-*.png."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gateway.ussd import menustore
from gateway.operators import accounts as operators
from gateway.operators.models import Role
from gateway.operators.models import Draft
from tests.browser.helpers import ON_POSTGRESQL, choose, dial, screen, screenshot

pytestmark = [pytest.mark.browser, ON_POSTGRESQL]

PASSWORD = "correct horse battery"
MENU = "marketplace"
SCREEN = "ask_name"
SHIPPED = menustore.SHIPPED.joinpath(f"{MENU}.yaml").read_text(encoding="utf-8")
OLD_FR = "Bienvenue sur Isoko, le marché des producteurs."
NEW_FR = "Salut! Isoko, marché des producteurs.\nVotre nom complet?"
# About 200 characters of words: one page of an input screen cannot hold it.
TOO_LONG_FR = " ".join(["Bienvenue sur Isoko, le grand marché des producteurs du pays."] * 3
                       + ["Quel est votre nom complet?"])


@pytest.fixture
def console(live_server):
    """The live gateway with an editor and a viewer."""
    with live_server.gateway.db.session() as s:
        operators.create(s, "eddie", PASSWORD, Role.EDITOR, actor="test")
        operators.create(s, "vera", PASSWORD, Role.VIEWER, actor="test")
    yield live_server


def log_in(page: Page, base_url: str, username: str) -> None:
    """Log in through the console's form (its stable ids) and wait for the console."""
    page.goto(f"{base_url}/admin/login")
    page.locator("#username").wait_for(state="visible")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("#login")
    expect(page.locator("#login-error")).to_have_count(0)
    expect(page.locator("#logout")).to_be_visible()


def fr_errors(page: Page):
    return page.locator(f'li.lint-problem[data-screen="{SCREEN}"][data-language="fr"][data-severity="error"]')


def save_french(page: Page, base_url: str, text: str) -> None:
    page.goto(f"{base_url}/admin/menus/{MENU}/screens/{SCREEN}")
    field = page.locator("#text-fr")
    expect(field).to_be_editable()
    field.fill(text)
    with page.expect_navigation():
        page.click("#save")
    expect(page).to_have_url(re.compile(rf"/admin/menus/{MENU}/screens/{SCREEN}$"))
    expect(page.locator("#text-fr")).to_have_value(text)


def head_version(page: Page) -> int:
    row = page.locator("#versions tr.head-row")
    expect(row).to_have_count(1)
    return int(row.get_attribute("data-version"))


def dial_in_french(page: Page, base_url: str, phone: str) -> str:
    """Dial as a new phone, choose Francais; returns the name question."""
    page.goto(f"{base_url}/simulator")
    page.locator("#dial").wait_for(state="visible")
    page.fill("#phone", phone)
    assert "Francais" in dial(page)
    return choose(page, "Francais")


def test_edit_lint_fix_publish_dial_and_roll_back(console, page):
    base = console.url
    log_in(page, base, "eddie")

    # Too long: the lint error shows at the screen and its language.
    save_french(page, base, TOO_LONG_FR)
    problem = fr_errors(page).first
    expect(problem).to_be_visible()
    screenshot(page, "console-editor-lint")

    # ... and it blocks publishing.
    page.goto(f"{base}/admin/menus/{MENU}")
    expect(page.locator("#publish")).to_be_disabled()
    expect(fr_errors(page).first).to_be_visible()

    # Fixed: no error left at that screen, and the preview shows the new text.
    save_french(page, base, NEW_FR)
    expect(page.locator("#screen-lint")).to_be_visible()
    expect(fr_errors(page)).to_have_count(0)
    page.goto(f"{base}/admin/menus/{MENU}/preview")
    expect(page.locator("main")).to_contain_text("Salut! Isoko, marché des producteurs.")
    screenshot(page, "console-preview", full_page=False)  # every screen: a tall page
    page.goto(f"{base}/admin/menus/{MENU}/preview?screen={SCREEN}")
    expect(page.locator("main")).to_contain_text("Salut! Isoko, marché des producteurs.")
    screenshot(page, f"console-preview-{SCREEN}")

    # Publish: a new version in service.
    page.goto(f"{base}/admin/menus/{MENU}/versions")
    before = head_version(page)
    page.goto(f"{base}/admin/menus/{MENU}")
    publish = page.locator("#publish")
    expect(publish).to_be_enabled()
    page.fill("#note", "Shorter French welcome")
    with page.expect_navigation():
        publish.click()
    expect(page).to_have_url(re.compile(rf"/admin/menus/{MENU}/versions$"))
    published = head_version(page)
    assert published == before + 1
    expect(page.locator(f'#versions tr[data-version="{published}"]')).to_contain_text("Shorter French welcome")

    # A new phone on the simulator hears the new text.
    asked = dial_in_french(page, base, "+250788100201")
    assert asked.startswith("Salut! Isoko, marché des producteurs.")
    assert "Votre nom complet?" in asked
    screenshot(page, "console-simulator-new-text")
    page.click("#hangup")
    expect(page.locator("#session-state")).to_have_text("hung up")

    # Roll back from the versions page (it asks first): the old text again.
    page.goto(f"{base}/admin/menus/{MENU}/versions")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"#rollback-{before}")
    expect(page).to_have_url(re.compile(rf"/admin/menus/{MENU}/versions$"))
    assert head_version(page) == before
    asked = dial_in_french(page, base, "+250788100202")
    assert asked.startswith(OLD_FR)
    assert "Salut!" not in screen(page)

    # The dashboard, once the console has one.
    response = page.goto(f"{base}/admin/dashboard")
    if response is not None and response.status == 200:
        page.wait_for_load_state("load")
        screenshot(page, "console-dashboard")

    page.goto(f"{base}/admin/menus")
    with page.expect_navigation():
        page.click("#logout")
    expect(page.locator("#logout")).to_have_count(0)


def test_a_viewer_cannot_publish(console, page):
    base = console.url
    with console.gateway.db.session() as s:
        head = menustore.head(s, MENU)
        s.add(Draft(name=MENU, source=SHIPPED.replace(OLD_FR, "Bienvenue, brouillon."),
                    base_version=head, updated_by="eddie"))
    log_in(page, base, "vera")
    page.goto(f"{base}/admin/menus/{MENU}")
    expect(page.locator("#doc-status")).to_contain_text("draft by eddie")
    expect(page.locator("#publish")).to_have_count(0)
    page.goto(f"{base}/admin/menus/{MENU}/versions")
    expect(page.locator("#versions")).to_be_visible()
    expect(page.locator("button.rollback")).to_have_count(0)

    # Past the page: the route itself refuses, with a valid CSRF token and her cookies.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(f"{base}/admin/menus/{MENU}/publish",
                                 form={"csrf_token": token, "note": "sneaky"})
    assert response.status == 403
    with console.gateway.db.session() as s:
        assert menustore.head(s, MENU) == head
