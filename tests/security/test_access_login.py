"""The console log-in: a per-address limit that stops a stranger before any
account locks, one answer for unknown and locked accounts, and HEAD (or any
method but POST) never counted as an attempt."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from gateway.console.access import throttle
from gateway.console.access.views import REFUSED, THROTTLED
from gateway.operators import accounts as operators
from gateway.operators.models import AuditEntry, Role

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def access_console(gateway):
    with gateway.db.session() as s:
        operators.create(s, "ada", PASSWORD, Role.ADMIN, actor="test")
        operators.create(s, "eddie", PASSWORD, Role.EDITOR, actor="test")
    return gateway


def client(gw, address: str):
    from gateway.web.app import create_app

    http = create_app(services=gw.services).test_client()
    http.environ_base["REMOTE_ADDR"] = address
    return http


def attempt(http, username: str, password: str):
    token = CSRF.search(http.get("/admin/login").get_data(as_text=True)).group(1)
    return http.post("/admin/login", data={"username": username, "password": password, "csrf_token": token})


def operator(gw, name: str):
    with gw.db.session() as s:
        row = operators.get(s, name)
        return row.failed_logins, row.locked_until


def test_a_stranger_is_stopped_before_any_account_locks(access_console):
    stranger = client(access_console, "203.0.113.7")
    for name in ("ada", "eddie"):
        for _ in range(10):
            attempt(stranger, name, "a guess")
    for name in ("ada", "eddie"):
        assert operator(access_console, name)[1] is None  # nobody locked out
    refused = attempt(stranger, "ada", PASSWORD)  # even the right password: not checked
    assert refused.status_code == 429 and THROTTLED in refused.get_data(as_text=True)
    # The operators themselves, from their own addresses, still log in.
    assert attempt(client(access_console, "198.51.100.10"), "ada", PASSWORD).status_code == 302
    assert attempt(client(access_console, "198.51.100.11"), "eddie", PASSWORD).status_code == 302
    with access_console.db.session() as s:
        throttled = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_throttled")).all()
        assert [(e.target, e.username) for e in throttled] == [("203.0.113.7", None)]  # once, not per refusal
        failed = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
        assert len(failed) == 4  # the refused attempts reached no account


def test_a_stranger_pausing_between_guesses_never_locks_an_account(access_console):
    """Quiet periods end the address's count, and the account's run with it."""
    stranger = client(access_console, "203.0.113.8")
    for _ in range(3):  # three rounds of 4 guesses, each after a quiet 15 minutes
        for _ in range(4):
            assert attempt(stranger, "eddie", "a guess").status_code == 401
        assert attempt(stranger, "eddie", "a guess").status_code == 429
        access_console.redis.delete(throttle.KEY.format("203.0.113.8"))  # what 15 quiet minutes do
        with access_console.db.session() as s:  # ... and on the account's side
            operators.get(s, "eddie").last_failed_at -= operators.LOCK_OUT
    assert operator(access_console, "eddie") == (4, None)


def test_the_address_count_outlives_the_account_run(access_console):
    """The address's key lives a little longer than the account's quiet period."""
    stranger = client(access_console, "203.0.113.9")
    attempt(stranger, "eddie", "a guess")
    ttl = access_console.redis.ttl(throttle.KEY.format("203.0.113.9"))
    assert operators.LOCK_OUT.total_seconds() < ttl <= operators.LOCK_OUT.total_seconds() + 60


def test_unknown_and_locked_accounts_get_the_wrong_password_answer(access_console):
    with access_console.db.session() as s:
        operators.get(s, "eddie").locked_until = datetime.now(timezone.utc) + timedelta(minutes=10)
    answers = [attempt(client(access_console, f"198.51.100.{i}"), name, password)
               for i, (name, password) in enumerate((("nobody", "a guess"), ("eddie", PASSWORD),
                                                     ("ada", "a guess")))]
    assert {r.status_code for r in answers} == {401}
    bodies = [r.get_data(as_text=True) for r in answers]
    assert all(REFUSED in b for b in bodies)
    assert "locked for" not in bodies[1].replace(REFUSED, "") and "until" not in bodies[1]


def test_head_with_credentials_is_never_a_login_attempt(access_console):
    """HEAD reaches the GET view (Flask routes GET's views to HEAD); the view
    counts only a submitted form, and Flask-WTF submits only POST-like methods."""
    http = client(access_console, "198.51.100.20")
    for _ in range(8):
        response = http.head("/admin/login", data={"username": "ada", "password": "a guess"})
        assert response.status_code == 200
        assert http.head("/admin/login?username=ada&password=x").status_code == 200
    assert operator(access_console, "ada") == (0, None)
    assert access_console.redis.get(throttle.KEY.format("198.51.100.20")) is None
    with access_console.db.session() as s:
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()


# Every route and the methods it answers: a view that starts to accept
# another method (GET on a form's POST, say) must be a decision made here.
SAFE = {"GET", "HEAD", "OPTIONS"}


def test_routes_accept_only_their_methods(access_console):
    from gateway.web.app import create_app

    app = create_app(services=access_console.services)
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"OPTIONS"}
        assert methods in ({"GET", "HEAD"}, {"POST"}, {"DELETE"}, {"POST", "PUT"},
                           {"GET", "HEAD", "POST"}), (rule.rule, methods)
        if "POST" in methods and "GET" in methods:
            assert rule.endpoint == "console.login", rule.rule  # the one page that is also a form
        if rule.endpoint == "momo_callbacks.momo_callback":
            assert methods == {"POST", "PUT"}  # MTN calls back with either
    http = client(access_console, "198.51.100.30")
    for url in ("/at/ussd", "/at/sms/delivery", "/at/sms/inbound", "/admin/logout", "/simulator/ussd"):
        assert http.get(url).status_code == 405, url
        assert http.put(url).status_code == 405, url
    assert http.delete("/admin/login").status_code == 405
