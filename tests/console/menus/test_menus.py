"""The menu editor: drafts, lint at its screen and language, preview, publish
to live USSD sessions, versions, diff, rollback, audit."""
from __future__ import annotations

import re

from sqlalchemy import select

from gateway.ussd import menustore
from gateway.operators.models import AuditEntry, Draft
from gateway.ussd.models import MenuVersion
from tests.ussd.helpers import Phone, option

OLD_PROMPT = "Welcome to Isoko, the producers' market."
NEW_PROMPT = "Welcome to Isoko! Version two."
TOO_LONG_FR = ("Bienvenue sur Isoko, le marche des producteurs et des acheteurs du Rwanda, "
               "ouvert a tous les cooperatives de cafe et de the. Quel est votre nom complet s'il vous plait?")


def problems_in(html: str) -> list[dict]:
    """The lint problems a page shows, from their stable data attributes."""
    out = []
    for m in re.finditer(r'<li class="lint-problem (\w+)" data-screen="([^"]*)" data-language="([^"]*)" '
                         r'data-page="([^"]*)"', html):
        out.append({"severity": m.group(1), "screen": m.group(2), "language": m.group(3), "page": m.group(4)})
    return out


def audit(gw, action: str) -> list[AuditEntry]:
    with gw.db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_menus_list_shows_head_and_versions(editor):
    page = editor.get("/admin/menus").get_data(as_text=True)
    assert 'data-menu="marketplace"' in page and "version 1" in page
    assert 'id="nav-menus"' in page and 'id="nav-sms-texts"' in page and 'id="nav-audit"' in page
    assert '<a id="nav-market" href="/admin/market"' in page
    assert '<a id="nav-dashboard" href="/admin/dashboard"' in page
    assert editor.get("/admin/menus/sms-texts").status_code == 404
    assert editor.get("/admin/menus/nothing").status_code == 404


def test_saving_a_too_long_french_text_reports_it_at_its_screen(editor, gw):
    page = editor.get("/admin/menus/marketplace/screens/ask_name").get_data(as_text=True)
    assert 'id="text-fr" name="text.fr"' in page
    response = editor.post("/admin/menus/marketplace/screens/ask_name", {"text.fr": TOO_LONG_FR})
    assert response.status_code == 302
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Draft saved with 1 lint error(s)" in page
    found = problems_in(page)
    assert {"severity": "error", "screen": "ask_name", "language": "fr", "page": "1"} in found
    assert all(p["screen"] == "ask_name" for p in found)
    # The overview groups it under its screen, with a link to the screen's form.
    overview = editor.get("/admin/menus/marketplace").get_data(as_text=True)
    assert '<div class="lint-group" data-screen="ask_name">' in overview
    assert 'href="/admin/menus/marketplace/screens/ask_name"' in overview
    assert 'id="publish" disabled' in overview
    # The draft was started from the head, and the save is in the audit log.
    with gw.db.session() as s:
        draft = s.get(Draft, "marketplace")
        assert draft.base_version == 1 and draft.updated_by == "eddie" and TOO_LONG_FR in draft.source
    assert [(e.username, e.target, e.detail) for e in audit(gw, "draft_save")] == [
        ("eddie", "marketplace", "screen ask_name; 1 error(s), 0 warning(s)")]
    # Publishing is refused while lint has errors.
    refused = editor.post("/admin/menus/marketplace/publish")
    assert "lint error" in editor.get(refused.headers["Location"]).get_data(as_text=True)
    with gw.db.session() as s:
        assert menustore.head(s, "marketplace") == 1
    # Fixed, it lints clean.
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.fr": "Bienvenue! Quel est votre nom?"})
    assert problems_in(editor.get("/admin/menus/marketplace/screens/ask_name").get_data(as_text=True)) == []


def test_a_screen_form_changes_one_line_of_the_yaml(editor, gw):
    with gw.db.session() as s:
        before = menustore.versions(s, "marketplace")[0].source
    editor.post("/admin/menus/marketplace/screens/ask_name",
                {"text.en": NEW_PROMPT + "\r\nWhat is your name?", "validate.type": "text",
                 "validate.min": "2", "validate.max": "60", "validate.not_digits_only": "yes",
                 "next": "ask_district"})
    with gw.db.session() as s:
        after = s.get(Draft, "marketplace").source
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines())
    assert changed == [('      en: "Welcome to Isoko, the producers\' market.\\nWhat is your name?"',
                        '      en: "Welcome to Isoko! Version two.\\nWhat is your name?"')]


def test_a_bad_form_value_is_shown_and_nothing_saved(editor, gw):
    response = editor.post("/admin/menus/marketplace/screens/ask_name",
                           {"text.fr": "Nom?", "validate.type": "text", "validate.min": "two"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="form-error"' in page and "whole number" in page
    assert ">Nom?</textarea>" in page  # what was typed is kept
    with gw.db.session() as s:
        assert s.get(Draft, "marketplace") is None


def test_raw_yaml_and_screen_forms_write_the_same_draft(editor, gw):
    with gw.db.session() as s:
        source = menustore.versions(s, "marketplace")[0].source
    broken = source.replace("start: start", "start: begin")
    response = editor.post("/admin/menus/marketplace/yaml", {"source": broken.replace("\n", "\r\n")})
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "start screen &#39;begin&#39; does not exist" in page
    assert {"severity": "error", "screen": "", "language": "", "page": ""} in problems_in(page)
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": NEW_PROMPT})
    with gw.db.session() as s:
        draft = s.get(Draft, "marketplace").source
    assert "start: begin" in draft and NEW_PROMPT in draft and "\r" not in draft
    # Not YAML at all: saved as a draft, reported, never publishable.
    editor.post("/admin/menus/marketplace/yaml", {"source": "screens: [unclosed"})
    assert "not valid YAML" in editor.get("/admin/menus/marketplace/yaml").get_data(as_text=True)
    # Renaming the menu in the YAML would publish another menu: refused by lint.
    editor.post("/admin/menus/marketplace/yaml", {"source": source.replace("name: marketplace", "name: other")})
    assert "name must stay" in editor.get("/admin/menus/marketplace").get_data(as_text=True)


def test_lint_endpoint_answers_as_you_type_without_saving(editor, gw):
    with gw.db.session() as s:
        source = menustore.versions(s, "marketplace")[0].source
    clean = editor.post("/admin/menus/marketplace/lint", {"source": source})
    assert clean.status_code == 200 and clean.json["errors"] == 0 and 'id="lint-ok"' in clean.json["html"]
    typed = editor.post("/admin/menus/marketplace/lint", {"screen": "ask_name", "text.fr": TOO_LONG_FR})
    body = typed.json
    assert body["errors"] == 1
    assert [(p["screen"], p["language"]) for p in body["problems"]] == [("ask_name", "fr")]
    assert 'data-screen="ask_name" data-language="fr"' in body["html"]
    assert 'class="ussd over"' in body["preview_html"]
    bad = editor.post("/admin/menus/marketplace/lint", {"screen": "nope", "text.fr": "x"})
    assert "no screen" in bad.json["form_error"]
    with gw.db.session() as s:
        assert s.get(Draft, "marketplace") is None
    assert audit(gw, "draft_save") == []


def test_preview_shows_every_page_with_counts_and_marks_non_gsm7(editor):
    page = editor.get("/admin/menus/marketplace/preview").get_data(as_text=True)
    for sid in ("language", "ask_name", "main", "sell_quantity", "order_menu"):
        assert f'id="preview-{sid}"' in page
    assert page.count('data-language="fr"') >= 40
    assert re.search(r'<span class="size" title="GSM-7 characters / limit">\d+/160</span>', page)
    assert "Jean Bosco" in page  # sample values next to the worst case
    assert 'data-kind="worst"' in page and 'data-kind="sample"' in page
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.fr": "Ça va? Quel est votre nom?"})
    only = editor.get("/admin/menus/marketplace/preview?screen=ask_name&lang=fr").get_data(as_text=True)
    assert '<mark class="non-gsm7" title="outside GSM-7: &#39;Ç&#39; (U+00C7' not in only  # Ç is GSM-7
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.fr": "ça va? Quel est votre nom?"})
    only = editor.get("/admin/menus/marketplace/preview?screen=ask_name&lang=fr").get_data(as_text=True)
    assert '<mark class="non-gsm7" title="outside GSM-7: &#39;ç&#39; (U+00E7' in only
    assert only.count('class="card preview-screen"') == 1 and 'data-language="en"' not in only
    version_one = editor.get("/admin/menus/marketplace/preview?version=1").get_data(as_text=True)
    assert "version 1" in version_one and "non-gsm7\" title" not in version_one


def test_publish_reaches_new_sessions_while_sessions_in_flight_keep_theirs(editor, gw):
    in_flight = Phone(gw.http, "+250788000101", session="before")
    assert "Choose a language" in in_flight.dial()
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": NEW_PROMPT + "\nWhat is your name?"})
    response = editor.post("/admin/menus/marketplace/publish", {"note": "friendlier welcome"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/versions")
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Published menu marketplace version 2" in page
    assert '<tr data-version="2" class="head-row">' in page and "friendlier welcome" in page
    with gw.db.session() as s:
        assert menustore.head(s, "marketplace") == 2
        assert s.get(Draft, "marketplace") is None
        assert s.scalar(select(MenuVersion.created_by).where(MenuVersion.version == 2)) == "eddie"
    # A new session gets version 2 at once...
    fresh = Phone(gw.http, "+250788000102", session="after")
    body = fresh.dial()
    assert NEW_PROMPT in fresh.hop(option(body, "English"))
    # ...while the session that started before the publish finishes on version 1.
    assert OLD_PROMPT in in_flight.hop("2")
    [entry] = audit(gw, "publish")
    assert (entry.username, entry.target, entry.detail) == ("eddie", "marketplace",
                                                            "version 2 (was 1): friendlier welcome")


def test_publishing_without_a_change_is_refused(editor, gw):
    assert "no draft" in editor.get(editor.post("/admin/menus/marketplace/publish").headers["Location"]
                                    ).get_data(as_text=True)
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": OLD_PROMPT + "\nWhat is your name?"})
    refused = editor.post("/admin/menus/marketplace/publish")
    assert "the same as version 1" in editor.get(refused.headers["Location"]).get_data(as_text=True)
    with gw.db.session() as s:
        assert menustore.head(s, "marketplace") == 1


def test_versions_diff_and_rollback(editor, gw):
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": NEW_PROMPT + "\nWhat is your name?"})
    editor.post("/admin/menus/marketplace/publish")
    diff = editor.get("/admin/menus/marketplace/diff?a=1&b=2").get_data(as_text=True)
    assert ('<div class="del">-      en: &#34;Welcome to Isoko, the producers&#39; market.\\nWhat is your name?&#34;</div>'
            in diff)
    assert '<div class="add">+      en: &#34;Welcome to Isoko! Version two.\\nWhat is your name?&#34;</div>' in diff
    assert diff.count('<div class="add">') == 1 and diff.count('<div class="del">') == 1
    assert editor.get("/admin/menus/marketplace/diff?a=1&b=9").status_code == 404
    versions = editor.get("/admin/menus/marketplace/versions").get_data(as_text=True)
    assert 'id="rollback-1"' in versions and 'id="rollback-2"' not in versions
    assert 'data-confirm="Put version 1 back in service?' in versions
    # Roll back: new sessions get the old text again.
    response = editor.post("/admin/menus/marketplace/rollback/1")
    assert "Rolled back" in editor.get(response.headers["Location"]).get_data(as_text=True)
    with gw.db.session() as s:
        assert menustore.head(s, "marketplace") == 1
        assert len(menustore.versions(s, "marketplace")) == 2  # versions are never deleted
    phone = Phone(gw.http, "+250788000103", session="rolled")
    assert OLD_PROMPT in phone.hop(option(phone.dial(), "English"))
    [entry] = audit(gw, "rollback")
    assert (entry.username, entry.target, entry.detail) == ("eddie", "marketplace", "version 2 -> 1")
    # Rolling back to the version in service, or to none, changes nothing.
    again = editor.post("/admin/menus/marketplace/rollback/1")
    assert "already in service" in editor.get(again.headers["Location"]).get_data(as_text=True)
    assert editor.post("/admin/menus/marketplace/rollback/7").status_code == 404
    # And forward again to version 2.
    editor.post("/admin/menus/marketplace/rollback/2")
    phone = Phone(gw.http, "+250788000104", session="forward")
    assert NEW_PROMPT in phone.hop(option(phone.dial(), "English"))


def test_discarding_a_draft(editor, gw):
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": NEW_PROMPT})
    assert 'id="discard"' in editor.get("/admin/menus/marketplace").get_data(as_text=True)
    editor.post("/admin/menus/marketplace/discard")
    with gw.db.session() as s:
        assert s.get(Draft, "marketplace") is None
    assert [e.target for e in audit(gw, "draft_discard")] == ["marketplace"]
    assert 'id="no-draft"' in editor.get("/admin/menus/marketplace").get_data(as_text=True)


def test_a_draft_started_before_another_publish_is_flagged(client_factory, editor, gw):
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": NEW_PROMPT})
    with gw.db.session() as s:
        source = menustore.versions(s, "marketplace")[0].source
        menustore.publish(s, source.replace("Sell goods", "Sell produce"), created_by="cli")
    assert 'id="stale-draft"' in editor.get("/admin/menus/marketplace").get_data(as_text=True)


def test_a_publish_on_one_instance_is_served_by_another(editor, gw, gateway_factory):
    """Two web processes on one Redis and one database: the console publishes
    on the first, the second serves the new version to its next new session
    while its session in flight finishes on the old one."""
    other = gateway_factory()
    in_flight = Phone(other.http, "+250788000111", session="other-before")
    in_flight.dial()
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": NEW_PROMPT + "\nWhat is your name?"})
    editor.post("/admin/menus/marketplace/publish")
    fresh = Phone(other.http, "+250788000112", session="other-after")
    assert NEW_PROMPT in fresh.hop(option(fresh.dial(), "English"))
    assert OLD_PROMPT in in_flight.hop("2")
    editor.post("/admin/menus/marketplace/rollback/1")
    again = Phone(other.http, "+250788000113", session="other-rolled")
    assert OLD_PROMPT in again.hop(option(again.dial(), "English"))
