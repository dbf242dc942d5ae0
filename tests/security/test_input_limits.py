"""Bodies past the limit and NUL bytes, on every route a stranger can reach.

A body over `MAX_BODY_BYTES` is a 413 before it is read (declared length) or
as soon as the limit is passed (chunked), so a 50 MB body costs the gateway
at most the limit in memory. A NUL is a 400 from the API and the console; the
providers' callbacks store it replaced (tests/security/test_input_reports.py).
"""
from __future__ import annotations

import re
import time

import pytest

from gateway.api import keys as apikeys

FIFTY_MB = 50 * 1024 * 1024
LIMIT = 64 * 1024
FORM = "application/x-www-form-urlencoded"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# Every route a stranger can post a body to, with the content type it reads.
BODY_ROUTES = [
    ("POST", "/at/ussd", FORM),
    ("POST", "/at/ussd/events", FORM),
    ("POST", "/at/sms/delivery", FORM),
    ("POST", "/at/sms/inbound", FORM),
    ("POST", "/momo/callback?reference=6f1c1a4e-2b7e-4a51-9a8e-0c1d2e3f4a5b", "application/json"),
    ("PUT", "/momo/callback", "application/json"),
    ("POST", "/api/v1/orders", "application/json"),
    ("POST", "/api/v1/webhooks", "application/json"),
    ("POST", "/admin/login", FORM),
    ("POST", "/simulator/ussd", FORM),
    ("GET", "/healthz", FORM),  # a route that reads no body answers 413 all the same
]


class LazyBody:
    """A request body of `size` bytes (None: endless, as a chunked upload that
    never stops) made as it is read; `read` counts what the server took."""

    def __init__(self, size: int | None) -> None:
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        left = (1 << 62) if self.size is None else self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        n = min(n, 1 << 20)  # one MiB at a time at most, like a socket
        self.read_bytes += n
        return b"a" * n

    def readline(self, limit: int = -1) -> bytes:
        return self.read(limit if limit and limit > 0 else 1 << 16)

    def __iter__(self):
        while chunk := self.read(1 << 16):
            yield chunk


def send(http, method: str, path: str, content_type: str, body: LazyBody, *, chunked: bool = False):
    overrides = {"wsgi.input": body, "CONTENT_TYPE": content_type}
    if chunked:
        overrides.update({"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
                          "wsgi.input_terminated": True})
    else:
        overrides["CONTENT_LENGTH"] = str(body.size)
    return http.open(path, method=method, environ_overrides=overrides)


@pytest.mark.parametrize("method, path, content_type", BODY_ROUTES, ids=[f"{m} {p[:24]}" for m, p, _ in BODY_ROUTES])
def test_a_50_mb_body_is_a_413_before_it_is_read(gateway, method, path, content_type):
    body = LazyBody(FIFTY_MB)
    started = time.monotonic()
    response = send(gateway.http, method, path, content_type, body)
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    assert time.monotonic() - started < 1.0
    assert body.read_bytes == 0


@pytest.mark.parametrize("method, path, content_type", BODY_ROUTES[:5] + BODY_ROUTES[8:10],
                         ids=[f"{m} {p[:24]}" for m, p, _ in BODY_ROUTES[:5] + BODY_ROUTES[8:10]])
def test_an_endless_chunked_body_is_cut_at_the_limit(gateway, method, path, content_type):
    body = LazyBody(None)
    response = send(gateway.http, method, path, content_type, body, chunked=True)
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    limit = 2 * 1024 * 1024 if path.startswith(("/admin", "/simulator")) else LIMIT
    assert body.read_bytes <= limit + (1 << 20)  # at most one read past the limit


def test_the_413_speaks_each_clients_language(gateway):
    api = send(gateway.http, "POST", "/api/v1/orders", "application/json", LazyBody(FIFTY_MB))
    assert api.get_json()["error"]["code"] == "request_entity_too_large"
    provider = send(gateway.http, "POST", "/at/ussd", FORM, LazyBody(FIFTY_MB))
    assert provider.mimetype == "text/plain"


def test_a_body_at_the_limit_is_read(gateway):
    padding = "a" * (LIMIT - 200)
    body = f"sessionId=s1&serviceCode=*384*7%23&phoneNumber=%2B250788000001&text=&pad={padding}"
    assert len(body) <= LIMIT
    response = gateway.http.post("/at/ussd", data=body, content_type=FORM)
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("CON ")


def test_the_limit_is_a_setting(gateway_factory):
    http = gateway_factory({"MAX_BODY_BYTES": "4096"}).http
    small = "sessionId=s1&serviceCode=*384*7%23&phoneNumber=%2B250788000001&text=&pad=" + "a" * 4100
    assert http.post("/at/ussd", data=small, content_type=FORM).status_code == 413
    assert http.post("/at/ussd", data=small[:4000], content_type=FORM).status_code == 200


# --- NUL bytes from clients that can read the answer: 400 ------------------------------------


@pytest.fixture
def bearer(gateway) -> dict:
    with gateway.db.session() as s:
        _key, token = apikeys.create(s, "fuzz market")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("url", [
    "/api/v1/listings?product=a%00",
    "/api/v1/listings?district=%00",
    "/api/v1/listings?a%00=1",
    "/api/v1/orders?status=pending%00",
    "/api/v1/orders?cursor=%00",
    "/api/v1/orders/48%0021",
    "/api/v1/webhooks/1%00",
])
def test_a_nul_in_an_api_query_or_path_is_a_400(gateway, bearer, url):
    response = gateway.http.get(url, headers=bearer)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/json"


def test_a_nul_in_the_login_form_is_a_400_and_locks_nobody_out(gateway):
    page = gateway.http.get("/admin/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    for _ in range(6):
        response = gateway.http.post("/admin/login", data={"csrf_token": token, "username": "ada\x00",
                                                           "password": "x\x00y"})
        assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/orders/%2F0", "/api/v1//orders", "//admin/login",
                                  "/at//ussd"])
def test_a_doubled_slash_is_not_a_route_and_never_a_redirect(gateway, path):
    """Found by the API fuzz: Werkzeug's default merged "//" with a 308 to
    another URL. A path that is no route is a 404 (or the API's 401 first)."""
    response = gateway.http.get(path)
    assert response.status_code in (401, 404), (path, response.status_code)
    assert "Location" not in response.headers
