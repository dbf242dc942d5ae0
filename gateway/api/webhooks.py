"""`/api/v1/webhooks`: a buyer platform subscribes to its own orders' changes.

`POST` checks where the URL points (`webhook_urls`: https, public addresses
only unless WEBHOOK_ALLOW_PRIVATE_URLS) and answers the signing secret, the
only time it is shown. `GET` lists or reads a key's live webhooks; `DELETE`
ends one: its pending deliveries are cancelled, its history stays for the
console. A key has at most MAX_PER_KEY live webhooks, which bounds the
fan-out of one event. Deliveries themselves: `gateway.api.deliveries`.
"""
from __future__ import annotations

from flask import jsonify, url_for
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.api import outputs, signing, validation, webhook_urls
from gateway.api.blueprint import api_key_id, bp, services
from gateway.api.errors import ApiError
from gateway.api.inputs import WebhookPath, WebhookRequest
from gateway.api.listings import iso
from gateway.core.models import utcnow
from gateway.orders.outbox import DeliveryStatus, Webhook, WebhookDelivery

MAX_PER_KEY = 10


def webhook_json(hook: Webhook) -> dict:
    return outputs.Webhook(id=hook.id, url=hook.url, events=list(hook.events),
                           created_at=iso(hook.created_at)).model_dump(mode="json")


def _live(key_id: int):
    return select(Webhook).where(Webhook.api_key_id == key_id, Webhook.deleted_at.is_(None))


def _own(s: Session, raw_id: str) -> Webhook:
    """The caller's live webhook with this id; 404 for any other (another
    key's included, so ids of other platforms cannot be probed)."""
    try:
        wanted = WebhookPath.model_validate({"id": raw_id}).id
    except ValidationError:
        wanted = None
    hook = s.scalar(_live(api_key_id()).where(Webhook.id == wanted)) if wanted else None
    if hook is None:
        raise ApiError(404, "not_found", "no such webhook")
    return hook


@bp.post("/webhooks")
def create_webhook():
    wanted = validation.body(WebhookRequest)
    svc = services()
    try:
        webhook_urls.check(wanted.url, allow_private=svc.settings.webhooks.allow_private)
    except webhook_urls.UrlRefused as exc:
        raise ApiError(422, "url_not_allowed", str(exc), field="url") from None
    key_id = api_key_id()
    events = list(dict.fromkeys(wanted.events))  # repeats read once, order kept
    with svc.db.session() as s:
        live = s.scalar(select(func.count()).select_from(_live(key_id).subquery()))
        if live >= MAX_PER_KEY:
            raise ApiError(409, "too_many_webhooks",
                           f"a key may have at most {MAX_PER_KEY} webhooks; delete one first")
        hook = Webhook(api_key_id=key_id, url=wanted.url, events=events,
                       secret=signing.new_secret(), created_at=utcnow())
        s.add(hook)
        s.flush()
        body = outputs.WebhookCreated(**webhook_json(hook), secret=hook.secret)
    answer = body.model_dump(mode="json")
    return jsonify(answer), 201, {"Location": url_for("api.get_webhook", id=answer["id"])}


@bp.get("/webhooks")
def list_webhooks():
    with services().db.session() as s:
        hooks = s.scalars(_live(api_key_id()).order_by(Webhook.id)).all()
        answer = outputs.WebhookList(data=[webhook_json(hook) for hook in hooks])
    return jsonify(answer.model_dump(mode="json"))


@bp.get("/webhooks/<id>")
def get_webhook(id: str):  # noqa: A002 (the path parameter's name)
    with services().db.session() as s:
        body = webhook_json(_own(s, id))
    return jsonify(body)


@bp.delete("/webhooks/<id>")
def delete_webhook(id: str):  # noqa: A002
    with services().db.session() as s:
        hook = _own(s, id)
        now = utcnow()
        hook.deleted_at = now
        s.execute(update(WebhookDelivery)
                  .where(WebhookDelivery.webhook_id == hook.id,
                         WebhookDelivery.status == DeliveryStatus.PENDING)
                  .values(status=DeliveryStatus.CANCELLED, finished_at=now, next_attempt_at=None,
                          last_error="the webhook was deleted")
                  .execution_options(synchronize_session=False))
    return "", 204
