"""POST /api/v1/orders (idempotent), GET /api/v1/orders/<code>, cancel."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select

from gateway.market import service as market
from gateway.orders import service as orders
from gateway.market.models import Listing
from gateway.sms.models import Message
from gateway.orders.models import Order, OrderStatus
from tests.api.conftest import SELLER_PHONE, error_of, listing, new_key, producer
from gateway.sms import queue as queues

BUYER_PHONE = "+250722000009"


@pytest.fixture
def offer(gateway):
    """A listing of 50 kg of coffee cherry at 700 RWF; returns its code."""
    with gateway.db.session() as s:
        row = listing(s, producer(s), quantity=50, price=700)
        s.execute(delete(Message))  # the listing receipt: tests count order SMS only
    return row.code


def body(code: str, quantity: int = 10, **buyer) -> dict:
    return {"listing": code, "quantity": quantity,
            "buyer": buyer or {"name": "Kigali Fresh Ltd", "phone": BUYER_PHONE}}


def counts(gateway) -> tuple[int, int]:
    with gateway.db.session() as s:
        return (s.scalar(select(func.count()).select_from(Order)),
                s.scalar(select(func.count()).select_from(Message)))


def stock(gateway, code: str) -> int:
    with gateway.db.session() as s:
        return s.scalar(select(Listing.quantity).where(Listing.code == code))


# --- placing ------------------------------------------------------------------------


def test_an_order_is_placed_and_the_seller_texted(gateway, api, offer, enqueued):
    response = api.order(body(offer, 10))
    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/orders/{order['code']}")
    assert order["status"] == "pending" and order["listing"] == offer
    assert (order["quantity"], order["unit_price"], order["total"]) == (10, 700, 7000)
    assert order["buyer"] == {"name": "Kigali Fresh Ltd", "phone": BUYER_PHONE}
    assert [(e["status"], e["actor"]) for e in order["history"]] == [("pending", "api")]
    assert stock(gateway, offer) == 40
    with gateway.db.session() as s:
        message = s.scalars(select(Message)).one()
        row = s.scalars(select(Order)).one()
        assert message.recipient == SELLER_PHONE and message.kind == "order_new"
        assert (row.channel, row.api_key_id) == ("api", api.key_id)
        assert row.idem_key == f"api:{api.key_id}:key-1"
    assert enqueued == [(message.id, True)]  # enqueued once, after the commit


def test_same_key_same_request_gives_the_same_order_once(gateway, api, offer, enqueued):
    first = api.order(body(offer, 10))
    # The same request, written differently: national phone form, extra spaces.
    again = api.order(body(offer, 10, name="  Kigali   Fresh Ltd ", phone="0722000009"))
    # One rule: a replay answers as the first call did, 201 with Location.
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["code"] == first.get_json()["code"]
    assert again.headers["Location"] == first.headers["Location"]
    assert counts(gateway) == (1, 1)  # one order, one SMS
    assert len(enqueued) == 1
    assert stock(gateway, offer) == 40


def test_a_new_key_is_a_new_order(gateway, api, offer):
    first = api.order(body(offer, 10), key="key-1")
    second = api.order(body(offer, 10), key="key-2")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["code"] != second.get_json()["code"]
    assert counts(gateway) == (2, 2)
    assert stock(gateway, offer) == 30


@pytest.mark.parametrize("change", [
    {"quantity": 11},
    {"buyer": {"name": "Someone Else", "phone": BUYER_PHONE}},
    {"buyer": {"name": "Kigali Fresh Ltd"}},
])
def test_same_key_different_request_is_422(gateway, api, offer, change):
    first = api.order(body(offer, 10))
    response = api.order({**body(offer, 10), **change})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "idempotency_key_reused"
    assert error["order"] == first.get_json()["code"]
    assert counts(gateway) == (1, 1)


def test_same_key_other_listing_is_422(gateway, api, offer):
    with gateway.db.session() as s:
        other = listing(s, market.find_producer(s, SELLER_PHONE), quantity=5).code
    api.order(body(offer, 5))
    assert api.order(body(other, 5)).status_code == 422


def test_keys_are_scoped_to_the_api_key(gateway, api, offer):
    other = new_key(gateway, "another platform")
    first = api.order(body(offer, 10), key="shared")
    second = other.order(body(offer, 10), key="shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["code"] != second.get_json()["code"]


def test_a_key_whose_first_use_failed_binds_nothing(gateway, api, offer):
    assert api.order(body(offer, 51)).status_code == 409
    assert api.order(body(offer, 50)).status_code == 201


def test_concurrent_repeats_make_one_order(gateway, api, offer):
    app = gateway.http.application
    results, barrier = [], threading.Barrier(6)

    def place():
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/orders", json=body(offer, 10),
                               headers=api.headers({"Idempotency-Key": "race"}))
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=place) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [status for status, _ in results] == [201] * 6, results
    assert len({answer["code"] for _, answer in results}) == 1
    assert counts(gateway) == (1, 1)
    assert stock(gateway, offer) == 40  # reserved once


# --- refusals -----------------------------------------------------------------------


def test_out_of_stock_is_409_with_what_is_left(gateway, api, offer):
    response = api.order(body(offer, 51))
    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], error["available"]) == ("out_of_stock", 50)
    assert counts(gateway) == (0, 0) and stock(gateway, offer) == 50


def test_unknown_or_withdrawn_listing_is_404(gateway, api, offer):
    unknown = api.order(body("999999" if offer != "999999" else "888888"))
    assert unknown.status_code == 404 and error_of(unknown)["field"] == "listing"
    with gateway.db.session() as s:
        seller = market.find_producer(s, SELLER_PHONE)
        listing_id = s.scalar(select(Listing.id).where(Listing.code == offer))
        market.withdraw_listing(s, producer_id=seller.id, listing_id=listing_id)
    assert api.order(body(offer), key="key-2").status_code == 404


def test_missing_or_bad_idempotency_key_is_400(api, offer):
    response = api.order(body(offer), key=None)
    assert response.status_code == 400
    assert error_of(response)["code"] == "idempotency_key_required"
    for bad in ("x" * 101, "tab\there"):
        response = api.order(body(offer), key=bad)
        assert response.status_code == 400
        assert error_of(response)["code"] == "invalid_idempotency_key"
    assert api.order(body(offer), key="x" * 100).status_code == 201


def test_malformed_json_is_400_and_other_media_415(api, offer):
    headers = {"Idempotency-Key": "k", "Content-Type": "application/json"}
    response = api.post("/api/v1/orders", data=b'{"listing": ', headers=headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
    response = api.post("/api/v1/orders", data={"listing": offer}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 415
    response = api.post("/api/v1/orders", data=b"[1, 2]", headers=headers)
    assert response.status_code == 422


def test_an_oversized_body_is_413(api, offer):
    big = body(offer)
    big["buyer"]["name"] = "x" * 20_000
    response = api.order(big)
    assert response.status_code == 413
    error_of(response)


INVALID = [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -5}, "quantity"),
    ({"quantity": "10"}, "quantity"),
    ({"quantity": 10.5}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"quantity": 1_000_001}, "quantity"),
    ({"listing": 123456}, "listing"),
    ({"listing": "12345"}, "listing"),
    ({"buyer": None}, "buyer"),
    ({"buyer": {"phone": BUYER_PHONE}}, "buyer.name"),
    ({"buyer": {"name": "   "}}, "buyer.name"),
    ({"buyer": {"name": "A" * 65}}, "buyer.name"),
    ({"buyer": {"name": "Ok", "phone": "12"}}, "buyer.phone"),
    ({"buyer": {"name": "Ok", "phone": 788123456}}, "buyer.phone"),
    ({"buyer": {"name": "Ok", "email": "a@b.c"}}, "buyer.email"),
    ({"price": 1}, "price"),
]


def test_invalid_fields_are_422_naming_the_field(gateway, api, offer):
    for change, field in INVALID:
        response = api.order({**body(offer), **change})
        assert response.status_code == 422, (change, response.get_data(as_text=True))
        assert error_of(response)["field"] == field, change
    assert counts(gateway) == (0, 0)


def test_phone_is_optional_and_stored_normalised(gateway, api, offer):
    without = api.order(body(offer, 1, name="No Phone Shop"), key="a")
    national = api.order(body(offer, 1, name="Shop", phone="0788 123 456"), key="b")
    assert without.get_json()["buyer"] == {"name": "No Phone Shop", "phone": None}
    assert national.get_json()["buyer"]["phone"] == "+250788123456"


# --- reading, answering, cancelling ---------------------------------------------------


def test_the_order_reads_back_with_its_history(gateway, api, offer):
    code = api.order(body(offer, 10)).get_json()["code"]
    read = api.get(f"/api/v1/orders/{code}")
    assert read.status_code == 200
    assert read.get_json()["status"] == "pending"
    assert read.get_json()["seller"] is None  # who the seller is shows only once accepted
    with gateway.db.session() as s:
        seller = market.find_producer(s, SELLER_PHONE)
        _order, messages = orders.answer_order(s, seller_id=seller.id, code=code, accept=True)
        # The buyer: who to meet, and the delivery code; the seller: who the buyer is.
        assert [(m.recipient, m.kind) for m in messages] == [
            (BUYER_PHONE, "order_accepted"), (BUYER_PHONE, "delivery_code"),
            (SELLER_PHONE, "order_accepted_seller")]
    order = api.get(f"/api/v1/orders/{code}").get_json()
    assert order["status"] == "accepted" and order["answered_at"] is not None
    assert order["seller"]["phone"] == SELLER_PHONE and order["seller"]["name"]
    assert order["seller"]["district"]
    assert [(e["status"], e["actor"]) for e in order["history"]] == [
        ("pending", "api"), ("accepted", "seller")]
    received = api.post(f"/api/v1/orders/{code}/received")
    assert received.status_code == 200 and received.get_json()["status"] == "delivered"
    again = api.post(f"/api/v1/orders/{code}/received")
    assert again.status_code == 409 and error_of(again)["status"] == "delivered"


def test_orders_of_other_keys_and_unknown_codes_are_404(gateway, api, offer):
    code = api.order(body(offer, 10)).get_json()["code"]
    other = new_key(gateway, "another platform")
    assert other.get(f"/api/v1/orders/{code}").status_code == 404
    assert other.post(f"/api/v1/orders/{code}/cancel").status_code == 404
    for wrong in ("000000", "12345", "abcdef", "1234567"):
        response = api.get(f"/api/v1/orders/{wrong}")
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert api.get(f"/api/v1/orders/{code}").get_json()["status"] == "pending"


def test_cancel_gives_the_quantity_back_and_tells_the_seller(gateway, api, offer, enqueued):
    code = api.order(body(offer, 10)).get_json()["code"]
    response = api.post(f"/api/v1/orders/{code}/cancel")
    assert response.status_code == 200
    order = response.get_json()
    assert order["status"] == "cancelled"
    assert [(e["status"], e["actor"]) for e in order["history"]] == [
        ("pending", "api"), ("cancelled", "buyer")]
    assert stock(gateway, offer) == 50
    with gateway.db.session() as s:
        kinds = [(m.kind, m.recipient) for m in s.scalars(select(Message).order_by(Message.id))]
        last = s.scalars(select(Message).order_by(Message.id.desc())).first()
    assert kinds == [("order_new", SELLER_PHONE), ("order_cancelled", SELLER_PHONE)]
    assert enqueued[-1] == (last.id, True)

    again = api.post(f"/api/v1/orders/{code}/cancel")
    assert again.status_code == 409
    error = error_of(again)
    assert (error["code"], error["status"]) == ("order_closed", "cancelled")
    assert stock(gateway, offer) == 50  # not given back twice


def test_an_answered_order_cannot_be_cancelled(gateway, api, offer):
    code = api.order(body(offer, 10)).get_json()["code"]
    with gateway.db.session() as s:
        seller = market.find_producer(s, SELLER_PHONE)
        orders.answer_order(s, seller_id=seller.id, code=code, accept=True)
    response = api.post(f"/api/v1/orders/{code}/cancel")
    assert response.status_code == 409
    assert error_of(response)["status"] == OrderStatus.ACCEPTED
    assert stock(gateway, offer) == 40


def test_a_redis_failure_after_commit_still_places_the_order(gateway, api, offer, monkeypatch):
    def down(*_args, **_kw):
        raise ConnectionError("redis down")

    monkeypatch.setattr(queues, "enqueue_sms", down)
    response = api.order(body(offer, 10))
    assert response.status_code == 201
    with gateway.db.session() as s:
        assert s.scalars(select(Message)).one().status == "queued"  # the sweep re-sends it
