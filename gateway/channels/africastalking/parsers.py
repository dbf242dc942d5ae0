"""One parser per Africa's Talking callback: the provider's form in, a frozen
value or the problem out.

Each `parse_*` takes the form as a mapping (Flask's `request.form`, or a plain
dict in the table tests) and returns either the callback's value or one line
naming every bad field, which the view sends back with its 400. Nothing here
touches a database, Redis or the request: views and tests call the same code.

What each field may hold is decided once, in the rules below, and every
callback uses the same rule for the same kind of field (docs/africastalking.md
says what the provider sends). How a rule is applied is also the same
everywhere:

- A required field is taken exactly as sent (an identifier with a space
  around it is another identifier); absent or empty is "missing".
- An optional field is read tolerantly, because the provider is loose with
  them: absent, empty and blank all mean "not given", surrounding whitespace
  is dropped, and only a value that is there and wrong is a problem.
- Free text (what a user typed, the provider's copy of our reply) is never
  trimmed, only bounded.
- A pattern must match the whole value: `re.match` with `$` would let a
  trailing newline through.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from gateway.core.phones import InvalidPhone, normalize
from gateway.sms.inbound import IncomingSms
from gateway.ussd.events import SessionEnded
from gateway.ussd.hop import Hop


@dataclass(frozen=True)
class Rule:
    """What one kind of field may hold: a pattern the whole value matches, or
    else any printable text of at most `max_len` characters."""

    pattern: re.Pattern | None = None
    max_len: int = 0
    hint: str = ""  # what was wrong, when "malformed" alone says too little

    def accepts(self, value: str) -> bool:
        if self.pattern is not None:
            return self.pattern.fullmatch(value) is not None
        return len(value) <= self.max_len and value.isprintable()


# --- the field rules, one per kind of field ----------------------------------------------------

# The key of the session's Redis record and of its log row (String(128)).
SESSION_ID = Rule(max_len=128)
# MCC+MNC: 63510 MTN Rwanda, 63514 Airtel Rwanda, 99999 the sandbox. Real codes
# are 5 or 6 digits, but the docs only give examples, and a network code only
# labels a callback: refusing one over it would cost a user the session or
# lose a report. So the widest rule any callback had: 3 to 8 digits (String(8)).
NETWORK_CODE = Rule(re.compile(r"[0-9]{3,8}"))
SERVICE_CODE = Rule(re.compile(r"[*#0-9]{2,40}"))  # the dialled code, `*384*7#`
PROVIDER_ID = Rule(re.compile(r"[!-~]{1,64}"))  # printable ASCII without spaces (String(64))
COUNT = Rule(re.compile(r"[0-9]{1,9}"), hint="not a whole number")
# A status is one word of letters; the bound is its column's (String(24), String(16)).
DELIVERY_STATUS = Rule(re.compile(r"[A-Za-z]{1,24}"))
SESSION_STATUS = Rule(re.compile(r"[A-Za-z]{1,16}"))
FAILURE_REASON = Rule(re.compile(r"[A-Za-z0-9_ .-]{1,64}"))
SHORT_CODE = Rule(re.compile(r"[+0-9A-Za-z]{1,16}"))  # `to` of an incoming SMS
LINK_ID = Rule(max_len=64)
SMS_DATE = Rule(max_len=32)  # an incoming SMS's `date` is kept as sent
COST = Rule(max_len=32)  # `RWF 0.0000`

HOP_TEXT_MAX = 1_000  # every input of a USSD session, joined with `*`
SMS_TEXT_MAX = 5_000
EVENT_TEXT_MAX = 10_000  # input, lastAppResponse, errorMessage
EVENT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, the provider's `yyyy-MM-dd HH:mm:ss`


@dataclass(frozen=True)
class DeliveryReceipt:
    """A validated delivery report; the names are `gateway.sms.reports.record`'s."""

    provider_message_id: str
    status: str
    phone: str | None = None  # E.164; settles an `unknown` message to this number
    network_code: str | None = None
    failure_reason: str | None = None
    retry_count: int | None = None


# --- the parsers, one per callback -------------------------------------------------------------


def parse_ussd_hop(form: Mapping[str, str]) -> Hop | str:
    """`POST /at/ussd`: one hop of a session."""
    f = _Fields(form)
    session_id = f.required("sessionId", SESSION_ID)
    phone = f.phone("phoneNumber", required=True)
    service_code = f.required("serviceCode", SERVICE_CODE)
    network = f.optional("networkCode", NETWORK_CODE)
    text = f.text("text", HOP_TEXT_MAX, required=True)  # "" on the first hop
    # The engine's context holds a str: "" when the network code was not sent.
    return f.problem() or Hop(session_id, phone, network or "", service_code, text)


def parse_ussd_event(form: Mapping[str, str]) -> SessionEnded | str:
    """`POST /at/ussd/events`: the end of a session. Only the id and the status
    are required; `hopsMetadata` is not kept."""
    f = _Fields(form)
    ended = SessionEnded(
        session_id=f.required("sessionId", SESSION_ID),
        status=f.required("status", SESSION_STATUS),
        date=f.utc_time("date"),
        phone=f.phone("phoneNumber"),
        service_code=f.optional("serviceCode", SERVICE_CODE),
        network_code=f.optional("networkCode", NETWORK_CODE),
        duration_ms=f.count("durationInMillis"),
        hops=f.count("hopsCount"),
        cost=f.optional("cost", COST),
        input=f.text("input", EVENT_TEXT_MAX) or None,
        last_reply=f.text("lastAppResponse", EVENT_TEXT_MAX) or None,
        error=f.text("errorMessage", EVENT_TEXT_MAX) or None,  # "" unless Failed
    )
    return f.problem() or ended


def parse_delivery_report(form: Mapping[str, str]) -> DeliveryReceipt | str:
    """`POST /at/sms/delivery`: a message's delivery status."""
    f = _Fields(form)
    receipt = DeliveryReceipt(
        provider_message_id=f.required("id", PROVIDER_ID),
        status=f.required("status", DELIVERY_STATUS),
        phone=f.phone("phoneNumber"),
        network_code=f.optional("networkCode", NETWORK_CODE),
        failure_reason=f.optional("failureReason", FAILURE_REASON),
        retry_count=f.count("retryCount"),
    )
    return f.problem() or receipt


def parse_incoming_sms(form: Mapping[str, str]) -> IncomingSms | str:
    """`POST /at/sms/inbound`: an SMS sent to our short code."""
    f = _Fields(form)
    sms = IncomingSms(
        provider_id=f.required("id", PROVIDER_ID),
        sender=f.phone("from", required=True),
        text=f.text("text", SMS_TEXT_MAX, required=True),
        short_code=f.optional("to", SHORT_CODE),
        network_code=f.optional("networkCode", NETWORK_CODE),
        link_id=f.optional("linkId", LINK_ID),
        sent_at=f.optional("date", SMS_DATE),
    )
    return f.problem() or sms


# --- reading fields ----------------------------------------------------------------------------


class _Fields:
    """One form, read field by field. Every problem is collected, so one 400
    names all the bad fields; a bad field reads as None."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self._form = form
        self._problems: list[str] = []

    def problem(self) -> str | None:
        """The problems found so far, in one line; None when there are none."""
        return "; ".join(self._problems) or None

    def _refuse(self, problem: str) -> None:
        self._problems.append(problem)

    def _malformed(self, name: str, rule: Rule) -> None:
        self._refuse(f"{name} malformed: {rule.hint}" if rule.hint else f"{name} malformed")

    def required(self, name: str, rule: Rule) -> str | None:
        """A field that must be sent, checked exactly as sent."""
        value = self._form.get(name)
        if not value:
            return self._refuse(f"{name} missing")
        if not rule.accepts(value):
            return self._malformed(name, rule)
        return value

    def optional(self, name: str, rule: Rule) -> str | None:
        """A field that may be absent or blank (None); else trimmed and checked."""
        value = (self._form.get(name) or "").strip()
        if not value:
            return None
        if not rule.accepts(value):
            return self._malformed(name, rule)
        return value

    def text(self, name: str, max_len: int, *, required: bool = False) -> str | None:
        """Free text, as sent: "" is a value; only the length is checked."""
        value = self._form.get(name)
        if value is None:
            return self._refuse(f"{name} missing") if required else None
        if len(value) > max_len:
            return self._refuse(f"{name} too long")
        return value

    def phone(self, name: str, *, required: bool = False) -> str | None:
        """A phone number in any form `normalize` reads (with or without `+`), as E.164."""
        value = (self._form.get(name) or "").strip()
        if not value and not required:
            return None
        try:
            return normalize(value)
        except InvalidPhone:
            return self._refuse(f"{name} missing or not a valid number" if required
                                else f"{name} is not a valid number")

    def count(self, name: str) -> int | None:
        """An optional whole number."""
        value = self.optional(name, COUNT)
        return int(value) if value is not None else None

    def utc_time(self, name: str) -> datetime | None:
        """An optional UTC time, `yyyy-MM-dd HH:mm:ss`, as an aware datetime."""
        value = (self._form.get(name) or "").strip()
        if not value:
            return None
        try:
            return datetime.strptime(value, EVENT_DATE_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            return self._refuse(f"{name} malformed: not yyyy-MM-dd HH:mm:ss")
