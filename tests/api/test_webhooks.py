"""Webhooks end to end: created through the API, fed by real order changes,
delivered by a real RQ worker (burst mode) to a loopback receiver that checks
every signature; retries on a short backoff; every attempt on record."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from gateway.api import deliveries, signing
from gateway.core import jobs as context
from gateway.core.models import utcnow
from gateway.core.settings import WebhookConfig
from gateway.orders import service as order_service
from gateway.orders.models import Order
from gateway.orders.outbox import (
    DeliveryStatus,
    OrderEventOutbox,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from gateway.sms import queue as queues
from gateway.worker import runner
from tests.api.conftest import error_of, listing, new_key, producer
from tests.api.receiver import Receiver
from tests.sim.fixtures import restore_signals  # noqa: F401

FAST = {"WEBHOOK_ALLOW_PRIVATE_URLS": "1", "WEBHOOK_RETRY_BASE_SECONDS": "0",
        "WEBHOOK_TIMEOUT_SECONDS": "2"}
EVERY = ["order.pending", "order.accepted", "order.rejected", "order.expired", "order.cancelled"]


@pytest.fixture
def gw(gateway_factory, restore_signals):
    """The gateway with a loopback-friendly, fast-retrying webhook config,
    and the jobs of this process configured with the same settings."""
    gateway = gateway_factory(FAST)
    url = gateway.db.url.render_as_string(hide_password=False)
    context.configure(url, settings=gateway.services.settings)
    yield gateway
    context.reset()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def platform(gw):
    return new_key(gw)


@pytest.fixture
def offer(gw) -> str:
    with gw.db.session() as s:
        return listing(s, producer(s), quantity=50, price=700).code


def subscribe(api, receiver, events=None) -> dict:
    response = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": events or EVERY})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    receiver.secret = created["secret"]
    return created


def place(api, code: str, key: str = "k1", quantity: int = 5):
    response = api.order({"listing": code, "quantity": quantity, "buyer": {"name": "Shop"}}, key)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rounds(gw, n: int = 1) -> None:
    """`n` times: the periodic task's work, then a real worker drains the queue."""
    for _ in range(n):
        deliveries.tick(gw.redis)
        SimpleWorker([deliveries.WEBHOOK_QUEUE], connection=gw.redis,
                     serializer=queues.SERIALIZER).work(burst=True)


def rows(gw, model):
    with gw.db.session() as s:
        return list(s.scalars(select(model).order_by(*model.__table__.primary_key.columns)))


# --- the acceptance ----------------------------------------------------------------


def test_a_delivery_is_signed_and_carries_the_order(gw, platform, offer, receiver):
    hook = subscribe(platform, receiver)
    order = place(platform, offer)
    rounds(gw)
    [request] = receiver.requests
    assert request.signed, request.headers
    assert request.path == "/isoko/events"
    assert request.headers["Content-Type"] == "application/json"
    event = request.event
    assert event["id"].startswith("evt_") and event["type"] == "order.pending"
    assert event["data"]["code"] == order["code"] and event["data"]["status"] == "pending"
    assert event["created_at"].endswith("Z")
    # The header is the documented one: t=<unix seconds>,v1=<hex of "<t>.<body>">.
    t, v1 = request.headers[signing.HEADER].split(",")
    assert signing.signature(hook["secret"], int(t.removeprefix("t=")), request.body) == \
        v1.removeprefix("v1=")
    assert not signing.verify("whsec_wrong", request.headers[signing.HEADER], request.body)
    [delivery] = rows(gw, WebhookDelivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED, 1, 200)
    assert request.headers["Isoko-Delivery"] == str(delivery.id)


def test_500_twice_then_200_is_accepted_exactly_once(gw, platform, offer, receiver):
    subscribe(platform, receiver)
    receiver.script(500, 500)
    place(platform, offer)
    rounds(gw, 5)  # more rounds than needed: nothing after the 200
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert all(r.signed for r in receiver.requests)
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes every time
    assert [e["type"] for e in receiver.accepted()] == ["order.pending"]
    [delivery] = rows(gw, WebhookDelivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    attempts = rows(gw, WebhookAttempt)
    assert [(a.number, a.status_code, a.error) for a in attempts] == [
        (1, 500, None), (2, 500, None), (3, 200, None)]
    assert all(a.duration_ms >= 0 for a in attempts)


def test_through_the_workers_own_loop(gw, platform, offer, receiver):
    # What `gateway worker` runs: the periodic tick queues the webhook task.
    subscribe(platform, receiver)
    place(platform, offer)
    runner.run_worker(gw.redis, burst=True, worker_class=SimpleWorker, with_scheduler=False)
    # The tick's task fanned out and queued the delivery; one more burst sends it.
    runner.run_worker(gw.redis, burst=True, worker_class=SimpleWorker, with_scheduler=False)
    assert [e["type"] for e in receiver.accepted()] == ["order.pending"]


# --- which events, and only committed ones -----------------------------------------------


def test_every_change_is_delivered_in_order_as_it_was(gw, platform, offer, receiver):
    subscribe(platform, receiver)
    first = place(platform, offer, "a")
    second = place(platform, offer, "b")
    assert platform.post(f"/api/v1/orders/{first['code']}/cancel").status_code == 200
    with gw.db.session() as s:
        seller = s.get(Order, s.scalar(select(Order.id).where(Order.code == second["code"])))
        order_service.answer_order(s, seller_id=seller.seller_id, code=second["code"],
                                   accept=True)
    rounds(gw)
    got = [(e["data"]["code"], e["type"], e["data"]["status"]) for e in receiver.accepted()]
    assert got == [(first["code"], "order.pending", "pending"),
                   (second["code"], "order.pending", "pending"),
                   (first["code"], "order.cancelled", "cancelled"),
                   (second["code"], "order.accepted", "accepted")]
    # Each body shows the order as it was right after its event.
    pending = receiver.accepted()[1]["data"]
    assert [h["status"] for h in pending["history"]] == ["pending"]
    assert pending["answered_at"] is None
    assert rows(gw, OrderEventOutbox) == []


def test_a_rolled_back_change_is_never_delivered(gw, platform, offer, receiver):
    subscribe(platform, receiver)
    order = place(platform, offer)
    rounds(gw)
    with pytest.raises(RuntimeError):
        with gw.db.session() as s:
            row = s.scalar(select(Order).where(Order.code == order["code"]))
            order_service.cancel_order(s, row, "buyer")
            raise RuntimeError("the caller fails before commit")
    rounds(gw, 2)
    assert [e["type"] for e in receiver.accepted()] == ["order.pending"]
    assert rows(gw, OrderEventOutbox) == []


def test_only_the_keys_own_orders_and_the_chosen_types(gw, platform, offer, receiver):
    subscribe(platform, receiver, ["order.cancelled"])
    other = new_key(gw, "another platform")
    mine = place(platform, offer, "a")
    theirs = place(other, offer, "a")
    platform.post(f"/api/v1/orders/{mine['code']}/cancel")
    other.post(f"/api/v1/orders/{theirs['code']}/cancel")
    rounds(gw)
    assert [(e["data"]["code"], e["type"]) for e in receiver.accepted()] == [
        (mine["code"], "order.cancelled")]


def test_a_lost_job_is_queued_again_and_a_spare_one_sends_nothing(gw, platform, offer, receiver):
    subscribe(platform, receiver)
    place(platform, offer)
    deliveries.tick(gw.redis)
    gw.redis.flushdb()  # Redis lost the queue
    rounds(gw)
    [delivery] = rows(gw, WebhookDelivery)
    assert deliveries.deliver(delivery.id) == "not_due"  # a spare job, after delivery
    assert len(receiver.requests) == 1


def test_failing_past_the_maximum_age_marks_it_failed(gw, platform, offer, receiver):
    subscribe(platform, receiver)
    receiver.default = 503
    place(platform, offer)
    rounds(gw, 2)
    with gw.db.session() as s:  # a day later
        s.scalars(select(WebhookDelivery)).one().created_at = utcnow() - timedelta(hours=25)
    rounds(gw)
    [delivery] = rows(gw, WebhookDelivery)
    assert delivery.status == DeliveryStatus.FAILED and delivery.finished_at is not None
    assert len(receiver.requests) == 2 and delivery.attempts == 2


def test_an_unreachable_receiver_is_an_attempt_with_an_error(gw, platform, offer, receiver):
    subscribe(platform, receiver)
    receiver.__exit__()  # nobody listens any more
    place(platform, offer)
    rounds(gw)
    [attempt] = rows(gw, WebhookAttempt)
    assert attempt.status_code is None and attempt.error
    [delivery] = rows(gw, WebhookDelivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1


def test_backoff_doubles_up_to_the_cap():
    config = WebhookConfig(retry_base=30, retry_cap=3600)
    assert [deliveries.backoff(n, config).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30, 60, 120, 3600, 3600]


# --- the routes -------------------------------------------------------------------


def test_create_shows_the_secret_once_then_get_list_delete(gw, platform, receiver, offer):
    created = subscribe(platform, receiver, ["order.accepted", "order.accepted"])
    assert created["secret"].startswith("whsec_") and created["events"] == ["order.accepted"]
    url = f"/api/v1/webhooks/{created['id']}"
    shown = platform.get(url)
    assert shown.status_code == 200 and "secret" not in shown.get_json()
    assert platform.get("/api/v1/webhooks").get_json()["data"] == [shown.get_json()]
    other = new_key(gw, "another platform")
    assert other.get(url).status_code == 404
    assert other.http.delete(url, headers=other.headers()).status_code == 404
    # A pending delivery is cancelled by the delete; the history stays.
    subscribe(platform, receiver, ["order.pending"])
    place(platform, offer)
    deliveries.fan_out(gw.db)
    second = platform.get("/api/v1/webhooks").get_json()["data"][1]["id"]
    assert platform.http.delete(f"/api/v1/webhooks/{second}",
                                headers=platform.headers()).status_code == 204
    assert platform.get(f"/api/v1/webhooks/{second}").status_code == 404
    [delivery] = rows(gw, WebhookDelivery)
    assert delivery.status == DeliveryStatus.CANCELLED
    rounds(gw)
    assert receiver.requests == []
    assert len(rows(gw, Webhook)) == 2


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "https://127.0.0.1/hook",
                                 "https://10.1.2.3/x", "https://169.254.169.254/latest",
                                 "https://[::1]/x", "https://[::ffff:192.168.1.1]/x",
                                 "https://user:pw@93.184.216.34/x",
                                 "https://no-such-host.invalid/x"])
def test_private_or_plain_urls_are_refused_by_default(gateway, url):
    api = new_key(gateway)
    response = api.post("/api/v1/webhooks", json={"url": url, "events": ["order.accepted"]})
    assert response.status_code == 422, response.get_json()
    assert (error_of(response)["code"], error_of(response)["field"]) == ("url_not_allowed", "url")


def test_a_public_https_url_is_accepted(gateway):
    api = new_key(gateway)
    response = api.post("/api/v1/webhooks",
                        json={"url": "https://93.184.216.34/isoko", "events": ["order.accepted"]})
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/api/v1/webhooks/{response.get_json()['id']}")


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://example.com/x", "events": ["order.accepted"]}, "url"),
    ({"url": "https://93.184.216.34/x", "events": []}, "events"),
    ({"url": "https://93.184.216.34/x", "events": ["order.shipped"]}, "events.0"),
])
def test_bad_bodies_are_422_with_the_field(gateway, body, field):
    response = new_key(gateway).post("/api/v1/webhooks", json=body)
    assert response.status_code == 422 and error_of(response)["field"] == field


def test_a_key_has_at_most_ten_webhooks(gw, platform, receiver):
    for _ in range(10):
        subscribe(platform, receiver)
    response = platform.post("/api/v1/webhooks", json={"url": receiver.url, "events": EVERY})
    assert response.status_code == 409 and error_of(response)["code"] == "too_many_webhooks"
    with gw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 10
