"""`POST /momo/callback?reference=<X-Reference-Id>` (PUT too: MTN uses it).

MTN sends a request's result once and never again, unsigned, with the body
of the status call. The view keeps it in the payment's history and makes the
payment due for a status check now, then queues that check: the result is
applied only from MTN's own answer to the check (`gateway.payments.jobs`),
so a repeated or forged callback changes nothing. One short transaction, no
outbound call; always 200 for a well-formed body (MTN would not retry anyway).
"""
from __future__ import annotations

import json
import logging
import uuid

from flask import Blueprint, Response, current_app, request

from gateway.payments import jobs, service
from gateway.payments.momo import classify_status

log = logging.getLogger(__name__)
bp = Blueprint("momo_callbacks", __name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def reference_of(args, body: object) -> str | None:
    """The reference from the query (we put it there), else the body's `referenceId`."""
    raw = args.get("reference") or (body.get("referenceId") if isinstance(body, dict) else None)
    try:
        return str(uuid.UUID(str(raw))) if raw else None
    except ValueError:
        return None


@bp.route("/momo/callback", methods=["POST", "PUT"])
def momo_callback() -> Response:
    text = request.get_data(as_text=True)[:10_000]
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _plain("a JSON object is expected", 400)
    reference = reference_of(request.args, body)
    if reference is None:
        return _plain("no reference", 400)
    services = current_app.extensions["isoko"]
    with services.db.session() as s:
        payment = service.callback(s, reference, classify_status(200, body, " ".join(text.split())))
        payment_id = payment.id if payment is not None else None
        due = payment is not None and payment.next_check_at is not None
    if payment_id is None:
        log.warning("MoMo callback for an unknown reference")
        return _plain("unknown reference")
    if due:
        jobs.enqueue(services.redis, payment_id)
    return _plain("ok")
