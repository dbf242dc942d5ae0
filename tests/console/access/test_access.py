"""Log-in, lock-out, sessions, CSRF and roles of the operator console."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from gateway.console.access.views import REFUSED
from gateway.operators import accounts as operators
from gateway.operators.models import AuditEntry, Operator, Role
from gateway.ussd.models import MenuVersion
from tests.console.conftest import PASSWORD


def audit_actions(gw, **where) -> list[tuple]:
    with gw.db.session() as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEntry, key) == value)
        return [(e.action, e.username, e.target, e.detail) for e in s.scalars(query)]


def test_login_ok_redirects_into_the_console_and_is_audited(client_factory, gw):
    console = client_factory()
    page = console.get("/admin/login").get_data(as_text=True)
    assert 'id="username"' in page and 'id="password"' in page and 'name="csrf_token"' in page
    response = console.login("eddie")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/dashboard"  # lands on the dashboard
    assert console.get("/admin/dashboard").status_code == 200
    menus = console.get("/admin/menus")
    assert menus.status_code == 200
    assert 'id="current-user"' in menus.get_data(as_text=True)
    assert ("login", "eddie", None, None) in audit_actions(gw)
    with gw.db.session() as s:
        assert operators.get(s, "eddie").last_login_at is not None


def test_login_is_case_insensitive_on_the_username(client_factory):
    assert client_factory().login("EdDie").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client_factory, gw):
    console = client_factory()
    wrong = console.login("eddie", "not the password")
    unknown = console.login("nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong username or password." in response.get_data(as_text=True)
    assert console.get("/admin/menus").status_code == 302  # still logged out
    rows = audit_actions(gw, action="login_failed")
    assert ("login_failed", "eddie", None, "wrong password (1 in a row)") in rows
    assert ("login_failed", "nobody", None, "unknown username") in rows


def test_five_failed_logins_lock_the_account_for_fifteen_minutes(client_factory, gw):
    # One address is stopped after 4 failures (tests/security/test_access_login.py):
    # a lock-out takes guesses from two addresses, as a spread attack makes.
    first, second = client_factory(), client_factory()
    first.http.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    second.http.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    for attempt in range(1, 5):
        response = (first if attempt <= 2 else second).login("eddie", f"guess {attempt}")
        assert "Wrong username or password." in response.get_data(as_text=True)
    fifth = second.login("eddie", "guess 5")
    assert fifth.status_code == 401
    # The same answer as a wrong password: nobody learns the account is locked.
    assert REFUSED in fifth.get_data(as_text=True) and "until" not in fifth.get_data(as_text=True)
    # Locked: even the right password is refused, with that same answer.
    right = first.login("eddie", PASSWORD)
    assert right.status_code == 401
    assert REFUSED in right.get_data(as_text=True)
    with gw.db.session() as s:
        row = operators.get(s, "eddie")
        assert row.failed_logins == 5
        remaining = row.locked_until - datetime.now(timezone.utc)
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    assert [a for a in audit_actions(gw, username="eddie") if a[0] == "lockout"]
    assert ("login_failed", "eddie", None, "account locked") in audit_actions(gw, username="eddie")
    # Other accounts are not affected.
    assert client_factory().login("vera").status_code == 302
    # Fifteen minutes later the right password works and the count starts afresh.
    with gw.db.session() as s:
        operators.get(s, "eddie").locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert client_factory().login("eddie", PASSWORD).status_code == 302
    with gw.db.session() as s:
        row = operators.get(s, "eddie")
        assert (row.failed_logins, row.locked_until) == (0, None)


def test_a_success_resets_the_failed_count(client_factory, gw):
    first, second = client_factory(), client_factory()
    second.http.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    for console in (first, first, second, second):
        console.login("eddie", "wrong password")
    assert client_factory().login("eddie").status_code == 302
    with gw.db.session() as s:
        assert operators.get(s, "eddie").failed_logins == 0


def test_disabled_operator_cannot_log_in_and_an_open_session_ends(client_factory, gw):
    console = client_factory("eddie")
    with gw.db.session() as s:
        operators.set_active(s, "eddie", False, actor="test")
    assert console.get("/admin/menus").status_code == 302
    response = client_factory().login("eddie")
    assert response.status_code == 401
    assert "disabled" in response.get_data(as_text=True)


def test_a_new_password_ends_open_sessions(client_factory, gw):
    console = client_factory("eddie")
    with gw.db.session() as s:
        operators.set_password(s, "eddie", "another long password", actor="test")
    assert console.get("/admin/menus").status_code == 302


def test_logout_ends_the_session(editor, gw):
    response = editor.post("/admin/logout")
    assert response.status_code == 302
    assert editor.get("/admin/menus").status_code == 302
    assert ("logout", "eddie", None, None) in audit_actions(gw)


def test_pages_need_a_login(client_factory):
    console = client_factory()
    for url in ("/admin/", "/admin/menus", "/admin/menus/marketplace", "/admin/sms", "/admin/audit",
                "/admin/operators", "/admin/menus/marketplace/versions"):
        response = console.get(url)
        assert response.status_code == 302, url
        assert "/admin/login?next=" in response.headers["Location"]
    assert console.post("/admin/menus/marketplace/publish").status_code == 401
    assert console.post("/admin/menus/marketplace/lint", {"source": "x: 1"}).status_code == 401


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client_factory):
    console = client_factory()
    console.get("/admin/login")
    response = console.post("/admin/login?next=/admin/audit", {"username": "vera", "password": PASSWORD})
    assert response.headers["Location"] == "/admin/audit"
    for target in ("https://evil.example/admin", "//evil.example/admin", "/simulator", "/admin\\@evil"):
        console = client_factory()
        console.get("/admin/login")
        response = console.post(f"/admin/login?next={target}", {"username": "vera", "password": PASSWORD})
        assert response.headers["Location"] == "/admin/dashboard", target


def test_the_front_page_and_a_logged_in_visit_to_the_login_page_open_the_dashboard(editor):
    assert editor.get("/admin/").headers["Location"] == "/admin/dashboard"
    assert editor.get("/admin/login").headers["Location"] == "/admin/dashboard"


def test_forms_without_a_csrf_token_are_refused(client_factory, editor, gw):
    anonymous = client_factory()
    anonymous.get("/admin/login")
    refused = anonymous.post("/admin/login", {"username": "eddie", "password": PASSWORD}, csrf=False)
    assert refused.status_code == 400
    assert anonymous.get("/admin/menus").status_code == 302  # not logged in
    with gw.db.session() as s:
        source = s.scalar(select(MenuVersion.source).where(MenuVersion.name == "marketplace"))
    for data in ({}, {"csrf_token": "forged"}):
        response = editor.post("/admin/menus/marketplace/yaml", {"source": source + "# x\n", **data}, csrf=False)
        assert response.status_code == 400
        assert "expired" in response.get_data(as_text=True)
    assert editor.post("/admin/logout", csrf=False).status_code == 400
    assert editor.http.post("/admin/menus/marketplace/lint", data={"source": source}).status_code == 400
    assert [a for a in audit_actions(gw) if a[0] == "draft_save"] == []
    # The token works as a header too (the as-you-type lint sends it so).
    ok = editor.http.post("/admin/menus/marketplace/lint", data={"source": source},
                          headers={"X-CSRFToken": editor.token})
    assert ok.status_code == 200 and ok.json["errors"] == 0


def test_head_of_the_login_page_is_not_a_login_attempt(client_factory, gw):
    console = client_factory()
    for _ in range(6):  # more than a lock-out's worth
        assert console.http.head("/admin/login").status_code == 200
    assert [a for a in audit_actions(gw) if a[0] in ("login_failed", "lockout")] == []
    assert client_factory().login("eddie").status_code == 302


def test_session_cookie_is_httponly_samesite_and_secure_over_https(gw, client_factory):
    console = client_factory()
    console.get("/admin/login")
    response = console.post("/admin/login", {"username": "vera", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("isoko_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    secure = client_factory()
    page = secure.http.get("/admin/login", base_url="https://console.example")
    assert "Secure" in page.headers["Set-Cookie"]


def test_console_pages_carry_security_headers(editor):
    response = editor.get("/admin/menus")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


VIEWER_REFUSED = (
    "/admin/menus/marketplace/publish", "/admin/menus/marketplace/discard",
    "/admin/menus/marketplace/yaml", "/admin/menus/marketplace/screens/ask_name",
    "/admin/menus/marketplace/rollback/1", "/admin/sms/publish", "/admin/sms/yaml",
    "/admin/sms/kinds/order_new", "/admin/sms/rollback/1", "/admin/sms/discard",
)


def test_a_viewer_cannot_change_anything(viewer, gw):
    for url in VIEWER_REFUSED:
        response = viewer.post(url, {"source": "name: marketplace\n", "text.fr": "x", "note": "n"})
        assert response.status_code == 403, url
        assert 'data-status="403"' in response.get_data(as_text=True)
    with gw.db.session() as s:
        assert s.scalar(select(MenuVersion).where(MenuVersion.version > 1)) is None
    assert [a for a in audit_actions(gw) if a[0] in ("draft_save", "publish", "rollback")] == []


def test_a_viewer_sees_the_editor_without_its_buttons(viewer, editor):
    for url in ("/admin/menus/marketplace", "/admin/menus/marketplace/screens/ask_name",
                "/admin/menus/marketplace/yaml", "/admin/menus/marketplace/versions"):
        seen = viewer.get(url)
        assert seen.status_code == 200
        page = seen.get_data(as_text=True)
        for control in ('id="publish"', 'id="save"', 'class="secondary rollback"', 'id="discard"'):
            assert control not in page, (url, control)
    screen = viewer.get("/admin/menus/marketplace/screens/ask_name").get_data(as_text=True)
    assert "<fieldset class=\"plain\" disabled>" in screen and 'id="text-fr"' in screen
    # An editor has them.
    editor.post("/admin/menus/marketplace/screens/ask_name", {"text.en": "What is your name, please?"})
    assert 'id="publish"' in editor.get("/admin/menus/marketplace").get_data(as_text=True)
    assert 'id="save"' in editor.get("/admin/menus/marketplace/screens/ask_name").get_data(as_text=True)


def test_operators_page_is_for_admins_only(admin, editor, viewer, gw):
    assert viewer.get("/admin/operators").status_code == 403
    assert editor.get("/admin/operators").status_code == 403
    assert editor.post("/admin/operators", {"username": "x1", "password": "p" * 12, "password2": "p" * 12,
                                            "role": "admin"}).status_code == 403
    page = admin.get("/admin/operators").get_data(as_text=True)
    assert 'data-username="vera"' in page
    assert 'id="nav-operators"' in page and 'id="nav-operators"' not in viewer.get("/admin/menus").get_data(as_text=True)
    created = admin.post("/admin/operators", {"username": "newbie", "password": "a long password",
                                              "password2": "a long password", "role": "editor"})
    assert created.status_code == 302
    admin.post("/admin/operators/newbie/role", {"role": "viewer"})
    admin.post("/admin/operators/newbie/active", {"active": "0"})
    with gw.db.session() as s:
        row = operators.get(s, "newbie")
        assert (row.role, row.active) == (Role.VIEWER, False)
    actions = [a[:3] for a in audit_actions(gw, username="ada")]
    assert ("operator_create", "ada", "newbie") in actions
    assert ("operator_role", "ada", "newbie") in actions
    assert ("operator_disable", "ada", "newbie") in actions


def test_roles_are_ordered_viewer_editor_admin():
    assert operators.at_least(Role.ADMIN, Role.EDITOR) and operators.at_least(Role.EDITOR, Role.VIEWER)
    assert not operators.at_least(Role.VIEWER, Role.EDITOR) and not operators.at_least("editor", "admin")


def test_passwords_are_stored_as_argon2_hashes(gw):
    with gw.db.session() as s:
        row = s.scalar(select(Operator).where(Operator.username == "eddie"))
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
