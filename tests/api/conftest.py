"""Fixtures for the buyer API: an API key, producers and listings made with
the marketplace services, and a client that sends the key."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from gateway.api import keys as apikeys
from gateway.market import service as market
from gateway.market.models import District, Listing, Product
from gateway.sms.models import Message
from gateway.core.models import utcnow

SELLER_PHONE = "+250788000001"


@dataclass
class Api:
    """The test client with a bearer token."""

    http: object
    token: str
    key_id: int

    def headers(self, extra: dict | None = None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **kw):
        return self.http.get(path, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, **kw):
        return self.http.post(path, headers=self.headers(kw.pop("headers", None)), **kw)

    def order(self, body: dict, key: str | None = "key-1"):
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.post("/api/v1/orders", json=body, headers=headers)


def new_key(gateway, name: str = "acme market") -> Api:
    with gateway.db.session() as s:
        key, token = apikeys.create(s, name)
    return Api(gateway.http, token, key.id)


@pytest.fixture
def api(gateway) -> Api:
    return new_key(gateway)


@pytest.fixture
def enqueued(gateway, monkeypatch) -> list[tuple[int, bool]]:
    """Records each `workers.queues.enqueue_sms` call as (message id, whether
    the row was already committed: visible from another session), then
    enqueues for real. Independent of how the SMS pipeline queues work."""
    from gateway.sms import queue as queues

    calls: list[tuple[int, bool]] = []
    real = queues.enqueue_sms

    def spy(connection, message_id, *args, **kw):
        with gateway.db.session() as s:
            calls.append((message_id, s.get(Message, message_id) is not None))
        return real(connection, message_id, *args, **kw)

    monkeypatch.setattr(queues, "enqueue_sms", spy)
    return calls


def producer(s, phone: str = SELLER_PHONE, district: str = "Huye", name: str = "Jean Bosco"):
    district_id = s.scalar(select(District.id).where(District.name == district))
    return market.register_producer(s, phone=phone, name=name, district_id=district_id,
                                    language="en", consented_at=utcnow())


def listing(s, seller, product: str = "coffee_cherry", quantity: int = 50, price: int = 700,
            grade: str | None = None) -> Listing:
    product_id = s.scalar(select(Product.id).where(Product.code == product))
    row, _receipt = market.create_listing(s, producer_id=seller.id, product_id=product_id,
                                          grade=grade, quantity=quantity, unit_price=price)
    return row


def error_of(response) -> dict:
    """The error object of a JSON error response (and checks the envelope)."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return body["error"]
