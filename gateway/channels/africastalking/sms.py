"""The provider's SMS callbacks: `POST /at/sms/delivery` and `POST /at/sms/inbound`.

Both are form-encoded (docs/africastalking.md) and answered with a plain 200
at once: one short SQL transaction, no outbound call. Only a report without
its key fields is refused (400 naming them); an optional field that cannot
be read is left out and the whole form kept in the row's `raw` (`parsers`).

Delivery report: stored and applied by `gateway.sms.reports` (the status only
moves forward; a report for an id not recorded yet waits for the send job).

Incoming SMS: stored once per provider id and its keyword (STOP, HELP, START)
carried out by `gateway.sms.inbound`; a repeat answers 200 "duplicate". The
replies are queued after the commit.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from gateway.channels.africastalking.parsers import parse_delivery_report, parse_incoming_sms
from gateway.market import service as market
from gateway.sms import inbound as incoming
from gateway.sms import reports

log = logging.getLogger(__name__)
bp = Blueprint("sms_callbacks", __name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.post("/at/sms/delivery")
def delivery() -> Response:
    receipt = parse_delivery_report(request.form)
    if isinstance(receipt, str):
        log.warning("delivery report refused: %s", receipt)
        return _plain(receipt, 400)
    services = current_app.extensions["isoko"]
    with services.db.session() as s:
        _, message = reports.record(
            s, provider_message_id=receipt.provider_message_id, status=receipt.status,
            failure_reason=receipt.failure_reason, network_code=receipt.network_code,
            retry_count=receipt.retry_count, raw=receipt.raw, phone=receipt.phone)
    if receipt.dropped:
        log.warning("delivery report stored without its unreadable %s (kept raw)", ", ".join(receipt.dropped))
    if message is None:
        log.info("delivery report %s for unknown id kept for later", receipt.status)
    return _plain("ok")


@bp.post("/at/sms/inbound")
def inbound() -> Response:
    sms = parse_incoming_sms(request.form)
    if isinstance(sms, str):
        log.warning("incoming SMS refused: %s", sms)
        return _plain(sms, 400)
    if sms.dropped:
        log.warning("incoming SMS stored without its unreadable %s (kept raw)", ", ".join(sms.dropped))
    services = current_app.extensions["isoko"]
    with services.db.session() as s:
        received = incoming.receive(s, sms, dial=services.settings.ussd_service_code,
                                    language_of=_producer_language, listings=_seller_listings)
    if received.duplicate:
        return _plain("duplicate")
    incoming.queue_replies(services.redis, received.replies)
    return _plain("ok")


def _seller_listings(s: Session, phone: str, pause: bool) -> int:
    """STOP pauses a seller's listings, START puts them back (how many)."""
    return market.pause_listings(s, phone) if pause else market.restore_listings(s, phone)


def _producer_language(s: Session, phone: str) -> str | None:
    """The language a registered producer chose; replies to others use the default."""
    producer = market.find_producer(s, phone)
    return str(producer.language) if producer is not None else None
