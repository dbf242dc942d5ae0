"""The provider's SMS callbacks: `POST /at/sms/delivery` and `POST /at/sms/inbound`.

Both are form-encoded (docs/africastalking.md), validated strictly (a
malformed field is a 400 naming it) and answered with a plain 200 at once:
one short SQL transaction, no outbound call.

Delivery report: always stored as a `DeliveryReport`; applied to the message
with that provider id, moving its delivery status only forward; a report for
an id not recorded yet waits, and the send job applies it when it records
the id (gateway.providers.reports).

Incoming SMS: stored once per provider `id` (the provider retries every
minute until it gets a 200: a repeat answers 200 and does nothing). The text
is matched, trimmed and case- and accent-insensitively, against keywords:

- STOP / HAGARIKA / ARRET / ARRÊT: the number is opted out (an `OptOut` row;
  the send job drops everything to it from then on) and gets one confirmation,
  `sms_stop`, sent although it is opted out: the last SMS it gets. A repeated
  STOP changes nothing and sends nothing.
- HELP / UBUFASHA / AIDE: a `sms_help` reply with the USSD code. It is also
  sent to an opted-out number: it answers a question the number just asked.
- START / TANGIRA / DEMARRER / DÉMARRER: removes the opt-out, confirmed by
  `sms_start`.

Replies are in the producer's language when the number is registered, else
in Kinyarwanda; they are queued like any SMS, after the commit.
"""
from __future__ import annotations

import logging
import re
import unicodedata

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.market import service as market
from gateway.sms import texts as smstexts
from gateway.sms.models import InboundSms, Message, MessageStatus, OptOut
from gateway.core.phones import InvalidPhone, mask, normalize
from gateway.sms import reports
from gateway.sms import queue as queues

log = logging.getLogger(__name__)
bp = Blueprint("sms_callbacks", __name__)

DEFAULT_LANGUAGE = "rw"
KEYWORDS = {
    "stop": frozenset({"stop", "hagarika", "arret"}),
    "help": frozenset({"help", "ubufasha", "aide"}),
    "start": frozenset({"start", "tangira", "demarrer"}),
}
REPLY_KIND = {"stop": "sms_stop", "help": "sms_help", "start": "sms_start"}
TEXT_MAX = 5000

_ID = re.compile(r"^[!-~]{1,64}$")  # printable ASCII, no space
_STATUS = re.compile(r"^[A-Za-z]{1,24}$")
_NETWORK = re.compile(r"^[0-9]{3,8}$")
_COUNT = re.compile(r"^[0-9]{1,9}$")
_SHORT_CODE = re.compile(r"^[+0-9A-Za-z]{1,16}$")
_REASON = re.compile(r"^[A-Za-z0-9_ .-]{1,64}$")


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _optional(form, name: str) -> str | None:
    value = form.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def _check(form, name: str, pattern: re.Pattern, problems: list[str], *, required: bool = False):
    value = form.get(name) if required else _optional(form, name)
    if value is None:
        if required:
            problems.append(f"{name} missing")
        return None
    if not pattern.match(value):
        problems.append(f"{name} malformed")
        return None
    return value


def parse_delivery(form) -> tuple[dict | None, str | None]:
    """The report's values, or why it is malformed."""
    problems: list[str] = []
    values = {
        "provider_message_id": _check(form, "id", _ID, problems, required=True),
        "status": _check(form, "status", _STATUS, problems, required=True),
        "network_code": _check(form, "networkCode", _NETWORK, problems),
        "failure_reason": _check(form, "failureReason", _REASON, problems),
    }
    retry_count = _check(form, "retryCount", _COUNT, problems)
    values["retry_count"] = int(retry_count) if retry_count is not None else None
    phone = _optional(form, "phoneNumber")
    if phone is not None:
        try:
            normalize(phone)
        except InvalidPhone:
            problems.append("phoneNumber is not a valid number")
    if problems:
        return None, "; ".join(problems)
    return values, None


def parse_inbound(form) -> tuple[dict | None, str | None]:
    """The incoming SMS's values, or why it is malformed."""
    problems: list[str] = []
    values: dict = {"provider_id": _check(form, "id", _ID, problems, required=True)}
    try:
        values["sender"] = normalize(form.get("from") or "")
    except InvalidPhone:
        problems.append("from missing or not a valid number")
    text = form.get("text")
    if text is None:
        problems.append("text missing")
    elif len(text) > TEXT_MAX:
        problems.append("text too long")
    values["text"] = text
    values["short_code"] = _check(form, "to", _SHORT_CODE, problems)
    values["network_code"] = _check(form, "networkCode", _NETWORK, problems)
    for name, column in (("linkId", "link_id"), ("date", "sent_at")):
        value = _optional(form, name)
        if value is not None and (len(value) > (64 if name == "linkId" else 32) or not value.isprintable()):
            problems.append(f"{name} malformed")
            value = None
        values[column] = value
    if problems:
        return None, "; ".join(problems)
    return values, None


def keyword(text: str) -> str | None:
    """"stop", "help", "start" or None for the text of an incoming SMS."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    word = plain.strip().strip(".!?,;: ").casefold()
    for action, words in KEYWORDS.items():
        if word in words:
            return action
    return None


@bp.post("/at/sms/delivery")
def delivery() -> Response:
    values, problem = parse_delivery(request.form)
    if values is None:
        log.warning("delivery report refused: %s", problem)
        return _plain(problem, 400)
    services = current_app.extensions["isoko"]
    with services.db.session() as s:
        report, message = reports.record(s, **values)
    if message is None:
        log.info("delivery report %s for unknown id kept for later", values["status"])
    return _plain("ok")


@bp.post("/at/sms/inbound")
def inbound() -> Response:
    values, problem = parse_inbound(request.form)
    if values is None:
        log.warning("incoming SMS refused: %s", problem)
        return _plain(problem, 400)
    services = current_app.extensions["isoko"]
    with services.db.session() as s:
        if s.scalar(select(InboundSms.id).where(InboundSms.provider_id == values["provider_id"])):
            return _plain("duplicate")
        row = InboundSms(**values)
        try:
            with s.begin_nested():
                s.add(row)
                s.flush()
        except IntegrityError:  # the same SMS, posted twice at once: the other copy won
            return _plain("duplicate")
        row.action, replies = _act(s, row, services.settings.ussd_service_code)
    for message_id in replies:
        try:
            queues.enqueue_sms(services.redis, message_id)
        except Exception:  # the row stays queued: the sweeper enqueues it
            log.exception("sms %s: enqueue failed; the sweeper will pick it up", message_id)
    return _plain("ok")


def _act(s: Session, row: InboundSms, dial: str) -> tuple[str | None, list[int]]:
    """Carry out the keyword of an incoming SMS; returns the action and the
    ids of the replies queued."""
    action = keyword(row.text)
    if action is None:
        log.info("incoming SMS from %s stored (%d characters, no keyword)", mask(row.sender),
                 len(row.text))
        return None, []
    phone, reply = row.sender, None
    if action == "stop":
        if s.get(OptOut, phone) is None:
            try:
                with s.begin_nested():
                    s.add(OptOut(phone=phone, keyword=row.text.strip()[:16]))
                reply = REPLY_KIND[action]
            except IntegrityError:  # opted out by a concurrent STOP
                pass
    elif action == "start":
        opt_out = s.get(OptOut, phone)
        if opt_out is not None:
            s.delete(opt_out)
            reply = REPLY_KIND[action]
    else:
        reply = REPLY_KIND[action]
    log.info("incoming %s from %s%s", action.upper(), mask(phone), "" if reply else " (nothing to do)")
    if reply is None:
        return action, []
    producer = market.find_producer(s, phone)
    lang = str(producer.language) if producer is not None else DEFAULT_LANGUAGE
    text = smstexts.render(reply, lang, smstexts.published(s), dial=dial)
    message = Message(recipient=phone, text=text, language=lang, kind=reply,
                      status=MessageStatus.QUEUED, attempts=0, segments=smstexts.segments(text))
    s.add(message)
    s.flush()
    return action, [message.id]
