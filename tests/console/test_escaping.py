"""Every console page escapes what operators and visitors typed."""
from __future__ import annotations

from urllib.parse import quote

from gateway.ussd import menustore
from gateway.console.sms_texts import texts as sms_texts

XSS = '<script>alert("x")</script>'
SCREEN = "<script>alert(2)"


def test_every_page_escapes_script_tags(client_factory, editor, gw):
    # A visitor types a script as a username; an editor writes scripts into
    # texts, a screen id, a publish note and an SMS text.
    anonymous = client_factory()
    anonymous.login(XSS, "whatever password")
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": "Name? " + XSS})
    editor.post("/admin/menus/marketplace/publish", {"note": XSS})
    with gw.db.session() as s:
        source = menustore.versions(s, "marketplace")[-1].source
    yaml_screen = f'  "{SCREEN}":\n    type: end\n    text: "{XSS.replace(chr(34), chr(39))}"\n'
    editor.post("/admin/menus/marketplace/yaml", {"source": source + yaml_screen})
    editor.post("/admin/sms/yaml", {"source": sms_texts.shipped_source() + "# " + XSS + "\n"})
    editor.post("/admin/sms/kinds/order_new", {"text.fr": "Isoko {code} " + XSS})
    editor.post("/admin/sms/publish", {"note": XSS})
    editor.post("/admin/sms/kinds/order_new", {"text.fr": "Isoko {code} {dial} " + XSS})

    pages = [
        "/admin/menus", "/admin/menus/marketplace", "/admin/menus/marketplace/screens/ask_name",
        f"/admin/menus/marketplace/screens/{quote(SCREEN, safe='')}", "/admin/menus/marketplace/yaml",
        "/admin/menus/marketplace/preview", "/admin/menus/marketplace/preview?version=2",
        "/admin/menus/marketplace/versions", "/admin/menus/marketplace/versions/2",
        "/admin/menus/marketplace/diff?a=1&b=2", "/admin/menus/marketplace/diff?a=2&b=draft",
        "/admin/sms", "/admin/sms/kinds/order_new", "/admin/sms/yaml", "/admin/sms/preview",
        "/admin/sms/versions", "/admin/sms/diff?a=shipped&b=draft", "/admin/audit",
        f"/admin/audit?username={quote(XSS)}",
    ]
    shown = set()
    for url in pages:
        response = editor.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "<script>alert" not in body, url
        if "&lt;script&gt;alert" in body:
            shown.add(url)
    # The script shows, escaped, on every page that shows what was typed.
    assert set(pages) - shown == {"/admin/menus", "/admin/sms"}
    for url, data in (("/admin/menus/marketplace/lint", {"source": source + yaml_screen}),
                      ("/admin/menus/marketplace/lint", {"screen": "ask_name", "text.fr": XSS}),
                      ("/admin/sms/lint", {"kind": "order_new", "text.fr": XSS})):
        body = editor.post(url, data).json
        assert "<script>alert" not in body["html"] + body.get("preview_html", "")
    # The admin's operators page escapes too (usernames are restricted, so
    # check the failed-login name on the audit page an admin sees).
    admin = client_factory("ada")
    assert "<script>alert" not in admin.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert" not in admin.get("/admin/operators").get_data(as_text=True)


def test_login_page_escapes_the_username_it_shows_back(client_factory):
    console = client_factory()
    body = console.login(XSS, "x").get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body
    redirect = console.get("/admin/login?next=" + quote('"><script>alert(1)</script>'))
    assert "<script>alert" not in redirect.get_data(as_text=True)
