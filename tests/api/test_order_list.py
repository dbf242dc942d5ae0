"""GET /api/v1/orders: a key's own orders, filtered, in keyset pages; and
the own-listing refusal of POST /api/v1/orders."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from gateway.orders.models import Order
from tests.api.conftest import SELLER_PHONE, error_of, listing, new_key, producer


@pytest.fixture
def offer(gateway) -> str:
    with gateway.db.session() as s:
        return listing(s, producer(s), quantity=500, price=700).code


def place(api, code, key, quantity=1):
    response = api.order({"listing": code, "quantity": quantity, "buyer": {"name": "Shop"}}, key)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [order["code"] for order in response.get_json()["data"]]


def test_only_the_keys_own_orders_newest_first(gateway, api, offer):
    mine = [place(api, offer, f"k{i}") for i in range(3)]
    place(new_key(gateway, "other"), offer, "k0")
    assert codes(api.get("/api/v1/orders")) == mine[::-1]


def test_pages_cover_everything_once(gateway, api, offer):
    mine = [place(api, offer, f"k{i}") for i in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/orders", query_string=query).get_json()
        seen += [order["code"] for order in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == mine[::-1]


def test_filters_by_status_and_time(gateway, api, offer):
    old, new = place(api, offer, "old"), place(api, offer, "new")
    api.post(f"/api/v1/orders/{new}/cancel")
    then = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with gateway.db.session() as s:
        s.execute(update(Order).where(Order.code == old).values(created_at=then))
    assert codes(api.get("/api/v1/orders?status=cancelled")) == [new]
    assert codes(api.get("/api/v1/orders?status=pending")) == [old]
    moment = int(then.timestamp())
    assert codes(api.get(f"/api/v1/orders?until={moment + 1}")) == [old]
    assert codes(api.get(f"/api/v1/orders?since={moment + 1}")) == [new]
    assert codes(api.get(f"/api/v1/orders?since={moment}&until={moment}")) == []


@pytest.mark.parametrize("query, field", [("status=shipped", "status"), ("since=-1", "since"),
                                          ("since=1.5", "since"), ("limit=0", "limit"),
                                          ("cursor=***", "cursor")])
def test_bad_parameters_are_400_with_the_field(api, query, field):
    response = api.get(f"/api/v1/orders?{query}")
    assert response.status_code == 400 and error_of(response)["field"] == field


def test_a_listings_cursor_is_not_an_orders_cursor(gateway, api, offer):
    with gateway.db.session() as s:
        seller = producer(s, phone="+250788000002")
        listing(s, seller), listing(s, seller)
    cursor = api.get("/api/v1/listings?limit=1").get_json()["next_cursor"]
    response = api.get(f"/api/v1/orders?cursor={cursor}")
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_cursor"


@pytest.mark.parametrize("phone", [SELLER_PHONE, "0788 000 001"])
def test_a_buyer_cannot_order_from_their_own_listing(gateway, api, offer, phone):
    response = api.order({"listing": offer, "quantity": 1,
                          "buyer": {"name": "Me", "phone": phone}})
    assert response.status_code == 409 and error_of(response)["code"] == "own_listing"
    with gateway.db.session() as s:
        assert s.scalars(select(Order)).all() == []
