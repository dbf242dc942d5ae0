"""Incoming SMS: stored once per provider id, keywords carried out.

The provider retries an incoming SMS every minute until it gets a 200, so
`receive` stores it once per provider `id`: a repeat is reported as a
duplicate and does nothing. The text is matched, trimmed and case- and
accent-insensitively, against keywords, each in the three languages:

- STOP / HAGARIKA / ARRET / ARRÊT: the number is opted out (an `OptOut` row;
  the send job drops everything to it from then on) and gets one confirmation,
  `sms_stop`, sent although it is opted out: the last SMS it gets. A seller's
  listings are paused by the caller's `listings` hook (no buyer's order
  waits for a seller who will never hear of it) and the confirmation says so
  and how to resume (`sms_stop_seller`). A repeated STOP sends nothing (a
  listing made since is paused all the same).
- HELP / UBUFASHA / AIDE: a `sms_help` reply with the USSD code. It is also
  sent to an opted-out number: it answers a question the number just asked.
- START / TANGIRA / DEMARRER / DÉMARRER: removes the opt-out, confirmed by
  `sms_start`; the listings STOP paused go back on sale (`sms_start_seller`).

Replies are in the sender's language: the one a registered producer chose
(`language_of`), else the keyword's own (AIDE is answered in French, UBUFASHA
in Kinyarwanda, HELP in English). `receive` takes a session and never
commits; it returns the replies' ids, which the caller queues with
`queue_replies` once the commit is done.

No HTTP here: the channel parses the provider's form into an `IncomingSms`.
"""
from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
# action -> keyword (accents removed, case folded) -> the keyword's language.
KEYWORDS = {
    "stop": {"stop": "en", "hagarika": "rw", "arret": "fr"},
    "help": {"help": "en", "ubufasha": "rw", "aide": "fr"},
    "start": {"start": "en", "tangira": "rw", "demarrer": "fr"},
}
REPLY_KIND = {"stop": "sms_stop", "help": "sms_help", "start": "sms_start"}
# The reply when the keyword paused or restored a seller's listings.
SELLER_REPLY_KIND = {"stop": "sms_stop_seller", "start": "sms_start_seller"}
KEYWORD_MAX = 16  # OptOut.keyword

# (session, E.164 phone) -> the language of a number we know, or None.
# Passed in by the caller: who registered a number is the market's business.
LanguageOf = Callable[[Session, str], str | None]
# (session, E.164 phone, pause) -> how many listings of that number's seller
# were paused (pause=True, on STOP) or put back on sale (False, on START).
Listings = Callable[[Session, str, bool], int]


def _no_listings(s: Session, phone: str, pause: bool) -> int:
    return 0


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
    dropped: tuple[str, ...] = ()  # optional fields the parser could not read (kept in `raw`)
    raw: str | None = field(default=None, compare=False)  # the provider's form as received


@dataclass(frozen=True)
class Received:
    """What `receive` did: a duplicate, or the keyword acted on and the replies queued."""

    duplicate: bool
    action: str | None = None
    replies: tuple[int, ...] = ()


def keyword(text: str) -> str | None:
    """"stop", "help", "start" or None for the text of an incoming SMS."""
    return match(text)[0]


def match(text: str) -> tuple[str | None, str | None]:
    """(action, the keyword's language) for the text of an incoming SMS, or
    (None, None): "Aide?" is ("help", "fr")."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    word = plain.strip().strip(".!?,;: ").casefold()
    for action, words in KEYWORDS.items():
        if word in words:
            return action, words[word]
    return None, None


def receive(s: Session, sms: IncomingSms, *, dial: str, language_of: LanguageOf,
            listings: Listings = _no_listings) -> Received:
    """Store `sms` once and carry out its keyword (caller commits, then queues
    the replies). `dial` is the USSD code the help text gives; `listings`
    pauses and restores a seller's listings (the market's business)."""
    if s.scalar(select(InboundSms.id).where(InboundSms.provider_id == sms.provider_id)):
        return Received(duplicate=True)
    row = InboundSms(provider_id=sms.provider_id, sender=sms.sender, text=sms.text,
                     short_code=sms.short_code, network_code=sms.network_code,
                     link_id=sms.link_id, sent_at=sms.sent_at, raw=sms.raw)
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:  # the same SMS, posted twice at once: the other copy won
        return Received(duplicate=True)
    row.action, replies = _act(s, row, dial, language_of, listings)
    return Received(duplicate=False, action=row.action, replies=tuple(replies))


def queue_replies(client: Redis, message_ids: Iterable[int]) -> None:
    """Enqueue the replies `receive` wrote, after their commit. A failure is
    logged, not raised: the row stays queued and the sweeper enqueues it."""
    for message_id in message_ids:
        try:
            queues.enqueue_sms(client, message_id)
        except Exception:
            log.exception("sms %s: enqueue failed; the sweeper will pick it up", message_id)


def _act(s: Session, row: InboundSms, dial: str, language_of: LanguageOf,
         listings: Listings) -> tuple[str | None, list[int]]:
    """Carry out the keyword of an incoming SMS; returns the action and the
    ids of the replies written."""
    action, said_in = match(row.text)
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
        if listings(s, phone, True) and reply:
            reply = SELLER_REPLY_KIND[action]
    elif action == "start":
        opt_out = s.get(OptOut, phone)
        if opt_out is not None:
            s.delete(opt_out)
            reply = REPLY_KIND[action]
        if listings(s, phone, False) and reply:
            reply = SELLER_REPLY_KIND[action]
    else:
        reply = REPLY_KIND[action]
    log.info("incoming %s from %s%s", action.upper(), mask(phone), "" if reply else " (nothing to do)")
    if reply is None:
        return action, []
    lang = language_of(s, phone) or said_in or DEFAULT_LANGUAGE
    text = smstexts.render(reply, lang, smstexts.published(s), dial=dial)
    message = Message(recipient=phone, text=text, language=lang, kind=reply,
                      status=MessageStatus.QUEUED, attempts=0, segments=smstexts.segments(text))
    s.add(message)
    s.flush()
    return action, [message.id]
