"""/admin/market/webhooks: deliveries and every attempt, read-only, no secrets."""
from __future__ import annotations

from sqlalchemy import select

from gateway.api import keys as apikeys
from gateway.api.deliveries import fan_out
from gateway.core.models import utcnow
from gateway.orders import service as order_service
from gateway.orders.outbox import Webhook, WebhookAttempt, WebhookDelivery
from tests.api.conftest import listing, producer


def _delivery_with_attempts(db) -> str:
    with db.session() as s:
        key, _ = apikeys.create(s, "Kigali <b>Fresh</b>")
        s.add(Webhook(api_key_id=key.id, url="https://shop.example/hook",
                      events=["order.pending"], secret="whsec_never_shown"))
        offer = listing(s, producer(s))
        order, _ = order_service.place_order(s, listing_id=offer.id, quantity=1,
                                             buyer_name="Shop", api_key_id=key.id, channel="api")
        code = order.code
    fan_out(db)
    with db.session() as s:
        delivery = s.scalars(select(WebhookDelivery)).one()
        s.add_all([WebhookAttempt(delivery_id=delivery.id, number=1, at=utcnow(), duration_ms=41,
                                  status_code=500),
                   WebhookAttempt(delivery_id=delivery.id, number=2, at=utcnow(), duration_ms=2000,
                                  error="ReadTimeoutError: timed out")])
        delivery.attempts = 2
    return code


def test_operators_see_each_attempt(viewer, gw):
    code = _delivery_with_attempts(gw.db)
    response = viewer.get("/admin/market/webhooks")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="deliveries"' in page and code in page and "order.pending" in page
    assert "#1" in page and "500" in page and "41 ms" in page
    assert "ReadTimeoutError: timed out" in page
    assert "whsec_never_shown" not in page  # the secret is never shown
    assert "Kigali &lt;b&gt;Fresh&lt;/b&gt;" in page  # escaped
    assert 'id="tab-webhooks"' in page


def test_the_status_filter(viewer, gw):
    _delivery_with_attempts(gw.db)
    assert 'class="delivery"' in viewer.get("/admin/market/webhooks?status=pending").get_data(
        as_text=True)
    assert 'class="delivery"' not in viewer.get(
        "/admin/market/webhooks?status=delivered").get_data(as_text=True)


def test_logged_out_is_sent_to_login(client_factory):
    assert client_factory().get("/admin/market/webhooks").status_code in (302, 401)
