"""Who may reach `/at/*`: the token, the optional address allow-list, and
the client address behind trusted proxies (never a header a client wrote)."""
from __future__ import annotations

from tests.ussd.helpers import Phone

TOKEN = "a-long-random-callback-secret"
AT_RANGE = "196.201.214.0/24"


def dial(gw, address: str, *, token: str | None = TOKEN, headers: dict | None = None):
    url = "/at/ussd" + (f"?token={token}" if token else "")
    return gw.http.post(url, data=Phone(gw.http).form(""), headers=headers or {},
                        environ_base={"REMOTE_ADDR": address})


def test_outside_the_allow_list_callbacks_get_403_even_with_the_token(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN, "CALLBACK_ALLOW_CIDRS": AT_RANGE})
    assert dial(gw, "196.201.214.20").get_data(as_text=True).startswith("CON ")
    assert dial(gw, "203.0.113.9").status_code == 403
    assert dial(gw, "196.201.214.20", token="wrong-token-of-the-same-len").status_code == 403
    refused = gw.http.post(f"/at/sms/delivery?token={TOKEN}", data={"id": "ATXid_1", "status": "Success"},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403
    # Other routes are not the allow-list's business.
    assert gw.http.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_an_allow_list_works_without_a_token_too(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_ALLOW_CIDRS": AT_RANGE})
    assert dial(gw, "196.201.214.1", token=None).status_code == 200
    assert dial(gw, "198.51.100.1", token=None).status_code == 403


def test_a_forwarded_address_is_ignored_without_trusted_proxies(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN, "CALLBACK_ALLOW_CIDRS": AT_RANGE})
    forged = dial(gw, "203.0.113.9", headers={"X-Forwarded-For": "196.201.214.20"})
    assert forged.status_code == 403


def test_behind_one_trusted_proxy_the_address_it_saw_counts(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN, "CALLBACK_ALLOW_CIDRS": AT_RANGE,
                              "TRUSTED_PROXIES": "1"})
    proxy = "10.0.0.2"
    assert dial(gw, proxy, headers={"X-Forwarded-For": "196.201.214.20"}).status_code == 200
    assert dial(gw, proxy, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    # A client's own X-Forwarded-For entry (left of the proxy's) is not believed.
    spoofed = dial(gw, proxy, headers={"X-Forwarded-For": "196.201.214.20, 203.0.113.9"})
    assert spoofed.status_code == 403


def test_a_wrong_or_missing_token_still_gets_403(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    assert dial(gw, "127.0.0.1", token=None).status_code == 403
    assert dial(gw, "127.0.0.1", token=TOKEN[:-1]).status_code == 403
    assert dial(gw, "127.0.0.1", token=TOKEN + "x").status_code == 403
    assert dial(gw, "127.0.0.1").status_code == 200


def test_the_token_is_compared_in_constant_time(gateway_factory, monkeypatch):
    """The check goes through hmac.compare_digest (a plain == leaks the
    matching prefix's length by timing). A refused hop is checked twice,
    once by the fast path in front of Flask and once by Flask's guard,
    which gives the refusal its words; every check is the constant-time one."""
    import hmac

    from gateway.web import callbacks_guard

    seen = []
    real = hmac.compare_digest
    monkeypatch.setattr(callbacks_guard.hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    assert dial(gw, "127.0.0.1", token="guess").status_code == 403
    assert seen and set(seen) == {(b"guess", TOKEN.encode())}


def test_the_session_cookie_is_secure_behind_a_tls_proxy(gateway_factory):
    plain = gateway_factory(env={})
    assert "Secure" not in plain.http.get("/admin/login", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    proxied = gateway_factory(env={"TRUSTED_PROXIES": "1"})
    cookie = proxied.http.get("/admin/login", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    assert "Secure" in cookie
    forced = gateway_factory(env={"SESSION_COOKIE_SECURE": "1"})
    assert "Secure" in forced.http.get("/admin/login").headers["Set-Cookie"]
