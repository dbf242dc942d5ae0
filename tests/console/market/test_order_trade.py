"""The console's order page after acceptance (issue 9): the whole history with
the order's messages, and an operator resolving a dispute."""
from __future__ import annotations

from sqlalchemy import select

from gateway.core.phones import mask
from gateway.market.models import Producer
from gateway.operators.models import AuditEntry
from gateway.orders import service as orders
from gateway.orders.models import Order
from tests.console.market.test_market_views import BUYER, SELLER, _ussd_order, seed_market


def _disputed(db) -> int:
    seed_market(db, orders=0, messages=0)
    order_id = _ussd_order(db)
    with db.session() as s:
        order = s.get(Order, order_id)
        seller = s.scalar(select(Producer).where(Producer.phone == SELLER))
        orders.answer_order(s, seller_id=seller.id, code=order.code, accept=True)
        orders.raise_dispute(s, order, "buyer")
    return order_id


def test_the_order_page_shows_history_and_messages_masked_for_viewers(viewer, editor, gw):
    order_id = _disputed(gw.db)
    seen = viewer.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)
    for status in ("pending", "accepted", "disputed"):
        assert f'data-status="{status}"' in seen
    assert "order_accepted_seller" in seen and "delivery_code" in seen
    assert BUYER not in seen and SELLER not in seen and mask(SELLER) in seen
    assert 'id="resolve-dispute"' not in seen  # viewers read only
    assert 'id="resolve-dispute"' in editor.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)


def test_an_editor_resolves_a_dispute_and_it_is_audited(viewer, editor, gw):
    order_id = _disputed(gw.db)
    assert viewer.post(f"/admin/market/orders/{order_id}/resolve",
                       data={"outcome": "delivered"}).status_code == 403
    assert editor.post(f"/admin/market/orders/{order_id}/resolve",
                       data={"outcome": "settled"}).status_code == 400
    done = editor.post(f"/admin/market/orders/{order_id}/resolve", data={"outcome": "cancelled"})
    assert done.status_code == 302
    with gw.db.session() as s:
        order = s.get(Order, order_id)
        assert order.status == "cancelled"
        assert [e.status for e in order.events][-2:] == ["disputed", "cancelled"]
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "order_resolve")).target == order.code
