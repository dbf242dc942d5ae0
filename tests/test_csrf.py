"""One CSRFProtect for the whole app: a browser's form needs the token, the
machine-facing routes are exempt (the provider's callbacks carry ?token=,
buyer platforms a bearer key, Prometheus only reads)."""
from __future__ import annotations

from tests.ussd.helpers import Phone

CSRF_REFUSAL = "CSRF"


def refused_for_csrf(response) -> bool:
    return response.status_code == 400 and CSRF_REFUSAL in response.get_data(as_text=True)


def test_the_provider_dials_without_a_csrf_token(gateway):
    assert Phone(gateway.http).dial().startswith("CON ")


def test_the_provider_callbacks_need_no_csrf_token(gateway):
    events = gateway.http.post("/at/ussd/events", data={"sessionId": "s1", "phoneNumber": "+250788000001",
                                                        "status": "Success", "durationInMillis": "1000"})
    inbound = gateway.http.post("/at/sms/inbound", data={"id": "in-1", "from": "+250788000001",
                                                         "to": "7384", "text": "HELP", "date": "2026-01-01"})
    delivery = gateway.http.post("/at/sms/delivery", data={"id": "ATXid_unknown", "status": "Success",
                                                           "phoneNumber": "+250788000001"})
    for response in (events, inbound, delivery):
        assert response.status_code == 200, response.get_data(as_text=True)


def test_the_buyer_api_answers_for_its_key_not_for_a_csrf_token(gateway):
    response = gateway.http.post("/api/v1/orders", json={"listing": "X", "quantity": 1})
    assert response.status_code == 401 and not refused_for_csrf(response)


def test_metrics_is_get_only_and_never_asks_for_a_token(gateway):
    assert gateway.http.get("/metrics").status_code == 200
    assert gateway.http.post("/metrics").status_code == 405


def test_every_other_unsafe_request_needs_the_token(gateway):
    response = gateway.http.post("/admin/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "did not come from the console" in response.get_data(as_text=True)
