"""/admin/market/webhooks, read-only: every webhook delivery, newest first,
with each of its attempts (when, status code, duration, error), so an
operator can answer "did the platform get it?" without a database shell.

Secrets and bodies are never shown (a body carries the buyer's name and
phone); filters: the delivery's status.
"""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.console.auth import requires, services
from gateway.console.blueprint import bp
from gateway.console.market import paging
from gateway.operators.models import Role
from gateway.orders.models import ApiKey, Order, OrderEvent
from gateway.orders.outbox import DeliveryStatus, Webhook, WebhookDelivery


def _item(delivery: WebhookDelivery, webhook: Webhook, key_name: str, order_code: str) -> dict:
    return {"id": delivery.id, "created_at": delivery.created_at, "event": delivery.event_type,
            "order": order_code, "platform": key_name, "url": webhook.url,
            "webhook_deleted": webhook.deleted_at is not None, "status": delivery.status.value,
            "next_attempt_at": delivery.next_attempt_at, "finished_at": delivery.finished_at,
            "attempts": [{"number": a.number, "at": a.at, "status_code": a.status_code,
                          "duration_ms": a.duration_ms, "error": a.error or ""}
                         for a in delivery.attempt_rows]}


@bp.get("/market/webhooks")
@requires(Role.VIEWER)
def market_webhooks():
    status = paging.query_choice("status", {s.value for s in DeliveryStatus})
    stmt = (select(WebhookDelivery, Webhook, ApiKey.name, Order.code)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .join(ApiKey, ApiKey.id == Webhook.api_key_id)
            .join(OrderEvent, OrderEvent.id == WebhookDelivery.order_event_id)
            .join(Order, Order.id == OrderEvent.order_id)
            .options(selectinload(WebhookDelivery.attempt_rows)))
    if status:
        stmt = stmt.where(WebhookDelivery.status == DeliveryStatus(status))
    filters = {"status": status} if status else {}
    with services().db.session() as s:
        rows, newer, older = paging.keyset_page(s, stmt, WebhookDelivery.id)
        items = [_item(*row) for row in rows]
    return render_template("console/market/webhooks.html", items=items, filters=filters,
                           newer=newer, older=older, statuses=[s.value for s in DeliveryStatus])
