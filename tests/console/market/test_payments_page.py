"""The console's payments page: held transfers with their reason, sent again
by an editor (audited), and every payment on its order's page."""
from __future__ import annotations

from sqlalchemy import select

from gateway.core.phones import mask
from gateway.core.settings import MomoConfig
from gateway.market.models import Producer
from gateway.operators.models import AuditEntry
from gateway.orders import service as orders
from gateway.orders.models import Order
from gateway.payments import service
from gateway.payments.models import Payment, PaymentKind, PaymentStatus
from tests.console.market.test_market_views import SELLER, _ussd_order, seed_market

CONFIG = MomoConfig(api_url="http://127.0.0.1:9", subscription_key="k", api_user="u", api_key="a",
                    commission_percent=2.0)


def _held(db) -> tuple[int, int]:
    """A paid, delivered order whose transfer MTN refused: (order id, transfer id)."""
    seed_market(db, orders=0, messages=0)
    order_id = _ussd_order(db)
    with db.session() as s:
        order = s.get(Order, order_id)
        seller = s.scalar(select(Producer).where(Producer.phone == SELLER))
        orders.answer_order(s, seller_id=seller.id, code=order.code, accept=True, cash=False)
        collection = service.start_collection(s, order, CONFIG)
        collection.status = PaymentStatus.SUCCESSFUL
        orders.paid(s, order, "momo")
        orders.confirm_receipt(s, order, "buyer")
        transfer = service.start_transfer(s, order, CONFIG)
        transfer.status, transfer.reason = PaymentStatus.HELD, "PAYEE_NOT_FOUND"
        transfer.next_check_at = None
        s.flush()
        return order_id, transfer.id


def test_held_transfers_are_listed_with_their_reason_masked_for_viewers(viewer, editor, gw):
    order_id, transfer_id = _held(gw.db)
    seen = viewer.get("/admin/market/payments").get_data(as_text=True)
    assert f'data-id="{transfer_id}" data-status="held"' in seen
    assert "PAYEE_NOT_FOUND" in seen and mask(SELLER) in seen and SELLER not in seen
    assert "Send again" not in seen  # viewers read only
    assert "Send again" in editor.get("/admin/market/payments").get_data(as_text=True)
    # The default view is the held ones; "all" shows the buyer's successful collection too.
    everything = viewer.get("/admin/market/payments?status=all").get_data(as_text=True)
    assert 'data-status="successful"' in everything
    assert viewer.get("/admin/market/payments?status=nonsense").status_code == 400
    page = viewer.get(f"/admin/market/orders/{order_id}").get_data(as_text=True)
    assert 'id="order-payments"' in page and "transfer" in page and "PAYEE_NOT_FOUND" in page


def test_an_editor_sends_a_held_transfer_again_once_and_it_is_audited(viewer, editor, gw):
    order_id, transfer_id = _held(gw.db)
    assert viewer.post(f"/admin/market/payments/{transfer_id}/retry").status_code == 403
    assert editor.post(f"/admin/market/payments/{transfer_id}/retry").status_code == 302
    with gw.db.session() as s:
        transfer = s.get(Payment, transfer_id)
        assert (transfer.status, transfer.reason) == (PaymentStatus.NEW, None)
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "payment_retry")).target == \
            s.get(Order, order_id).code
        assert len(s.scalars(select(Payment).where(Payment.kind == PaymentKind.TRANSFER)).all()) == 1
    # Not held any more: a second press changes nothing.
    editor.post(f"/admin/market/payments/{transfer_id}/retry")
    with gw.db.session() as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "payment_retry")).all()) == 1
