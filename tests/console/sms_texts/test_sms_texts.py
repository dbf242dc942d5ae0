"""The SMS texts editor: lint, drafts, publish as `sms-texts` versions, the
loader smstexts renders through, rollback."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.ussd import menustore
from gateway.sms import texts as smstexts
from gateway.console.sms_texts import texts as sms_texts
from gateway.operators.models import AuditEntry
from gateway.sms import texts as smstexts
from gateway.ussd import menustore
from gateway.ussd.models import MenuVersion
from tests.console.menus.test_menus import problems_in

SHIPPED = sms_texts.shipped_source()
NEW_FR = "Isoko: nouvelle commande {code}: {quantity} {unit} {product} a {price} (total {total}). Composez {dial}."
VALUES = dict(code="123456", product="Cafe", quantity="50", unit="kg", price="1,000 RWF",
              total="50,000 RWF", dial="*384*7*123456#")


def located(problems) -> set[tuple]:
    return {(p.severity, p.screen, p.language) for p in problems}


def test_the_shipped_texts_lint_without_errors():
    assert [p for p in sms_texts.lint(SHIPPED) if p.severity == "error"] == []


@pytest.mark.parametrize("old, new, where, message", [
    ("Composez {dial} pour accepter", "Composez {buyer} pour accepter", ("error", "order_new", "fr"),
     "placeholder {buyer} is not supplied"),
    ("Composez {dial} pour accepter", "Composez {dial.__class__} pour accepter", ("error", "order_new", "fr"),
     "bad placeholder"),
    ("Composez {dial} pour accepter", "Composez {dial pour accepter", ("error", "order_new", "fr"), "malformed"),
    ("Isoko: commande {code}:", "Isoko: commande n\u00b0 {code}:", ("error", "order_new", "fr"), "outside GSM-7"),
])
def test_lint_locates_each_problem_at_its_kind_and_language(old, new, where, message):
    assert old in SHIPPED
    problems = sms_texts.lint(SHIPPED.replace(old, new, 1))
    assert where in located(problems)
    assert any(message in p.message for p in problems if (p.severity, p.screen, p.language) == where)


def test_lint_wants_every_kind_the_gateway_sends():
    without = SHIPPED.replace("  order_accepted:\n", "  order_acepted:\n")
    problems = located(sms_texts.lint(without))
    assert ("error", "order_accepted", None) in problems and ("warning", "order_acepted", None) in problems
    assert ("error", None, None) in located(sms_texts.lint("templates: [1, 2"))


def test_edit_publish_and_roll_back_the_sms_texts(editor, gw):
    overview = editor.get("/admin/sms").get_data(as_text=True)
    assert 'data-kind="order_new"' in overview and 'id="nav-sms-texts" href="/admin/sms" class="active"' in overview
    form = editor.get("/admin/sms/kinds/order_new").get_data(as_text=True)
    assert 'id="text-fr" name="text.fr"' in form and "<code>{dial}</code>" in form
    # A text using a value the gateway does not supply is reported where it is.
    response = editor.post("/admin/sms/kinds/order_new", {"text.fr": NEW_FR.replace("{dial}", "{buyer}")})
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert {"severity": "error", "screen": "order_new", "language": "fr", "page": ""} in problems_in(page)
    editor.post("/admin/sms/kinds/order_new", {"text.fr": NEW_FR})
    assert problems_in(editor.get("/admin/sms/kinds/order_new").get_data(as_text=True)) == []
    diff = editor.get("/admin/sms/diff", follow_redirects=True).get_data(as_text=True)
    assert "shipped file" in diff and diff.count('<div class="add">') == 1
    response = editor.post("/admin/sms/publish", {"note": "shorter order SMS"})
    assert "Published SMS texts version 1" in editor.get(response.headers["Location"]).get_data(as_text=True)
    with gw.db.session() as s:
        assert menustore.head(s, smstexts.SMS_TEXTS) == 1
    # The loader smstexts renders through now answers the published texts.
    loader = smstexts.PublishedSmsTexts(gw.db.url)
    assert loader()["templates"]["order_new"]["fr"] == NEW_FR
    with gw.db.session() as s:  # every session of the gateway's database carries them
        published = smstexts.published(s)
    assert smstexts.render("order_new", "fr", published, **VALUES).startswith("Isoko: nouvelle commande 123456")
    assert not smstexts.render("order_new", "fr", **VALUES).startswith("Isoko: nouvelle commande 123456")
    # The SMS texts are not a USSD menu.
    assert 'data-menu="sms-texts"' not in editor.get("/admin/menus").get_data(as_text=True)
    # A second version, then back to the first.
    editor.post("/admin/sms/kinds/order_new", {"text.fr": NEW_FR.replace("nouvelle commande", "commande")})
    editor.post("/admin/sms/publish")
    loader.invalidate()
    assert "Isoko: commande" in loader()["templates"]["order_new"]["fr"]
    editor.post("/admin/sms/rollback/1")
    loader.invalidate()
    assert loader()["templates"]["order_new"]["fr"] == NEW_FR
    with gw.db.session() as s:
        actions = [(e.action, e.target) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert s.scalar(select(MenuVersion.created_by).where(MenuVersion.name == smstexts.SMS_TEXTS)) == "eddie"
    assert ("publish", "sms-texts") in actions and ("rollback", "sms-texts") in actions
    assert actions.count(("draft_save", "sms-texts")) == 3


def test_the_loader_answers_none_until_something_is_published_and_survives_a_bad_database(gw, tmp_path):
    assert smstexts.PublishedSmsTexts(gw.db.url)() is None
    broken = smstexts.PublishedSmsTexts(f"sqlite:///{tmp_path / 'missing' / 'none.db'}")
    assert broken() is None  # logged, and the shipped texts go out


def test_sms_lint_endpoint(editor):
    body = editor.post("/admin/sms/lint", {"kind": "order_new", "text.fr": "Isoko: {nope}"}).json
    assert [(p["screen"], p["language"]) for p in body["problems"] if p["severity"] == "error"] == [
        ("order_new", "fr")]
    assert "data-kind=\"order_new\"" in body["preview_html"]
    assert editor.post("/admin/sms/lint", {"source": SHIPPED}).json["errors"] == 0
