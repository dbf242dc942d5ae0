"""Authentication and the error contract of /api/v1."""
from __future__ import annotations

import logging


from gateway.api import keys as apikeys
from gateway.market import service as market
from tests.api.conftest import error_of, new_key

PROTECTED = [
    ("GET", "/api/v1/listings"),
    ("GET", "/api/v1/products"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders/123456"),
    ("POST", "/api/v1/orders/123456/cancel"),
]


def test_every_route_but_the_document_needs_a_key(gateway):
    for method, path in PROTECTED:
        response = gateway.http.open(path, method=method)
        assert response.status_code == 401, path
        assert error_of(response)["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


MALFORMED = [
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer ",
    "Bearer not-a-key",
    "Bearer isk_abcdefgh",
    "isk_abcdefgh_secret",
]


def test_malformed_authorization_is_401(gateway, api):
    for header in MALFORMED:
        response = gateway.http.get("/api/v1/products", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert error_of(response)["code"] == "unauthorized"
    assert api.get("/api/v1/products").status_code == 200


def test_right_prefix_wrong_secret_is_401_invalid_token(gateway, api):
    prefix = apikeys.parse(api.token)[0]
    forged = f"isk_{prefix}_{'A' * 43}"
    response = gateway.http.get("/api/v1/products", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert api.get("/api/v1/products").status_code == 200  # the real one still works


def test_revoked_key_is_refused_at_once(gateway, api):
    assert api.get("/api/v1/products").status_code == 200
    with gateway.db.session() as s:
        apikeys.revoke(s, api.key_id)
    response = api.get("/api/v1/products")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_a_second_key_works_independently(gateway, api):
    other = new_key(gateway, "other platform")
    with gateway.db.session() as s:
        apikeys.revoke(s, api.key_id)
    assert other.get("/api/v1/products").status_code == 200
    assert api.get("/api/v1/products").status_code == 401


def test_the_document_needs_no_key(gateway):
    response = gateway.http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


def test_unknown_route_under_the_api_is_a_json_404(gateway, api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_wrong_method_is_a_json_405_with_allow(gateway, api):
    response = gateway.http.delete("/api/v1/listings", headers=api.headers())
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_paths_outside_the_api_keep_their_own_errors(gateway):
    response = gateway.http.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype != "application/json"
    response = gateway.http.get("/at/ussd")
    assert response.status_code == 405
    assert response.mimetype != "application/json"


def test_a_bug_is_a_generic_json_500_and_a_log_line(gateway, api, monkeypatch, caplog):
    def broken(s):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(market, "products", broken)
    with caplog.at_level(logging.ERROR, logger="gateway.api"):
        response = api.get("/api/v1/products")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert any("api request failed" in r.getMessage() for r in caplog.records)
