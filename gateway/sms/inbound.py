"""Incoming SMS: stored once per provider id, keywords carried out.

The provider retries an incoming SMS every minute until it gets a 200, so
`receive` stores it once per provider `id`: a repeat is reported as a
duplicate and does nothing. The text is matched, trimmed and case- and
accent-insensitively, against keywords:

- STOP / HAGARIKA / ARRET / ARRÊT: the number is opted out (an `OptOut` row;
  the send job drops everything to it from then on) and gets one confirmation,
  `sms_stop`, sent although it is opted out: the last SMS it gets. A repeated
  STOP changes nothing and sends nothing.
- HELP / UBUFASHA / AIDE: a `sms_help` reply with the USSD code. It is also
  sent to an opted-out number: it answers a question the number just asked.
- START / TANGIRA / DEMARRER / DÉMARRER: removes the opt-out, confirmed by
  `sms_start`.

Replies are in the sender's language when the caller's `language_of` knows
it (a registered producer), else in Kinyarwanda. `receive` takes a session
and never commits; it returns the replies' ids, which the caller queues with
`queue_replies` once the commit is done.

No HTTP here: the channel parses the provider's form into an `IncomingSms`.
"""
from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.core.phones import mask
from gateway.sms import queue as queues
from gateway.sms import texts as smstexts
from gateway.sms.models import InboundSms, Message, MessageStatus, OptOut

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "rw"
KEYWORDS = {
    "stop": frozenset({"stop", "hagarika", "arret"}),
    "help": frozenset({"help", "ubufasha", "aide"}),
    "start": frozenset({"start", "tangira", "demarrer"}),
}
REPLY_KIND = {"stop": "sms_stop", "help": "sms_help", "start": "sms_start"}
KEYWORD_MAX = 16  # OptOut.keyword

# (session, E.164 phone) -> the language of a number we know, or None.
# Passed in by the caller: who registered a number is the market's business.
LanguageOf = Callable[[Session, str], str | None]


@dataclass(frozen=True)
class IncomingSms:
    """A validated incoming SMS; fields are the `InboundSms` row's columns."""

    provider_id: str
    sender: str  # E.164
    text: str
    short_code: str | None = None
    network_code: str | None = None
    link_id: str | None = None
    sent_at: str | None = None  # the provider's date, as sent


@dataclass(frozen=True)
class Received:
    """What `receive` did: a duplicate, or the keyword acted on and the replies queued."""

    duplicate: bool
    action: str | None = None
    replies: tuple[int, ...] = ()


def keyword(text: str) -> str | None:
    """"stop", "help", "start" or None for the text of an incoming SMS."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    word = plain.strip().strip(".!?,;: ").casefold()
    for action, words in KEYWORDS.items():
        if word in words:
            return action
    return None


def receive(s: Session, sms: IncomingSms, *, dial: str, language_of: LanguageOf) -> Received:
    """Store `sms` once and carry out its keyword (caller commits, then queues
    the replies). `dial` is the USSD code the help text gives."""
    if s.scalar(select(InboundSms.id).where(InboundSms.provider_id == sms.provider_id)):
        return Received(duplicate=True)
    row = InboundSms(provider_id=sms.provider_id, sender=sms.sender, text=sms.text,
                     short_code=sms.short_code, network_code=sms.network_code,
                     link_id=sms.link_id, sent_at=sms.sent_at)
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:  # the same SMS, posted twice at once: the other copy won
        return Received(duplicate=True)
    row.action, replies = _act(s, row, dial, language_of)
    return Received(duplicate=False, action=row.action, replies=tuple(replies))


def queue_replies(client: Redis, message_ids: Iterable[int]) -> None:
    """Enqueue the replies `receive` wrote, after their commit. A failure is
    logged, not raised: the row stays queued and the sweeper enqueues it."""
    for message_id in message_ids:
        try:
            queues.enqueue_sms(client, message_id)
        except Exception:
            log.exception("sms %s: enqueue failed; the sweeper will pick it up", message_id)


def _act(s: Session, row: InboundSms, dial: str,
         language_of: LanguageOf) -> tuple[str | None, list[int]]:
    """Carry out the keyword of an incoming SMS; returns the action and the
    ids of the replies written."""
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
                    s.add(OptOut(phone=phone, keyword=row.text.strip()[:KEYWORD_MAX]))
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
    lang = language_of(s, phone) or DEFAULT_LANGUAGE
    text = smstexts.render(reply, lang, smstexts.published(s), dial=dial)
    message = Message(recipient=phone, text=text, language=lang, kind=reply,
                      status=MessageStatus.QUEUED, attempts=0, segments=smstexts.segments(text))
    s.add(message)
    s.flush()
    return action, [message.id]
