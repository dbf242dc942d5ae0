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

Reports are stored, not refused. The end-of-session notification, the
delivery report and the incoming SMS tell us something that happened; the
provider resends whatever we refuse, for hours, and a refusal loses the
report. So only their key fields are checked strictly (a report without them
cannot be stored: the session or message id and the status; an SMS's id,
sender and text) and refused with a 400. Every other field is read
leniently: a value that does not fit its rule is None in the parsed value,
its name is in `dropped`, and the whole form is kept beside it (`raw`, the
column of the same name), so nothing the provider said is lost. A USSD hop
is a question, not a report: it stays strict, since a guess would answer
the wrong user.

A NUL in any value is replaced by U+FFFD (`clean_text`), as are lone
surrogates: PostgreSQL stores neither, and a 500 makes the provider resend.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from gateway.core.phones import InvalidPhone, normalize_provider
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
# A report's count may come as a decimal (`durationInMillis=1234.0`): read as whole.
REPORT_COUNT = Rule(re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?"), hint="not a number")
# A status is one word of letters; the bound is its column's (String(24), String(16)).
DELIVERY_STATUS = Rule(re.compile(r"[A-Za-z]{1,24}"))
SESSION_STATUS = Rule(re.compile(r"[A-Za-z]{1,16}"))
# The provider's words, which it documents only by example (`DeliveryFailure`,
# and in the field `Failed/Rejected by operator`): any printable text.
FAILURE_REASON = Rule(max_len=64)
SHORT_CODE = Rule(re.compile(r"[+0-9A-Za-z]{1,16}"))  # `to` of an incoming SMS
LINK_ID = Rule(max_len=64)
SMS_DATE = Rule(max_len=32)  # an incoming SMS's `date` is kept as sent
COST = Rule(max_len=32)  # `RWF 0.0000`

HOP_TEXT_MAX = 1_000  # every input of a USSD session, joined with `*`
SMS_TEXT_MAX = 5_000
EVENT_TEXT_MAX = 10_000  # input, lastAppResponse, errorMessage
EVENT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, the provider's `yyyy-MM-dd HH:mm:ss`
# Also read: with milliseconds, and ISO 8601's `T` between date and time.
EVENT_DATE_FORMATS = (EVENT_DATE_FORMAT, "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S",
                      "%Y-%m-%dT%H:%M:%S.%f")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates


@dataclass(frozen=True)
class DeliveryReceipt:
    """A validated delivery report; the names are `gateway.sms.reports.record`'s."""

    provider_message_id: str
    status: str
    phone: str | None = None  # E.164; settles an `unknown` message to this number
    network_code: str | None = None
    failure_reason: str | None = None
    retry_count: int | None = None
    dropped: tuple[str, ...] = ()  # optional fields that could not be read (kept in `raw`)
    raw: str | None = field(default=None, compare=False)  # `raw_form` of the report


def clean_text(value: str) -> str:
    """`value` with every NUL and lone surrogate replaced by U+FFFD: what a
    database can store, with the place of the odd character still visible."""
    return _UNSTORABLE.sub("\ufffd", value)


def raw_form(form: Mapping[str, str]) -> str:
    """The form as received, for the `raw` columns: JSON pairs in the order
    sent, repeated fields included, every character escaped to ASCII (so a
    NUL or a lone surrogate is text, never a byte the database refuses)."""
    items = form.items(multi=True) if hasattr(form, "getlist") else form.items()
    return json.dumps([[name, value] for name, value in items], ensure_ascii=True)


# --- the parsers, one per callback -------------------------------------------------------------


def parse_ussd_hop(form: Mapping[str, str]) -> Hop | str:
    """`POST /at/ussd`: one hop of a session."""
    f = _Fields(form)
    session_id = f.required("sessionId", SESSION_ID)
    phone = f.phone("phoneNumber", required=True)
    service_code = f.required("serviceCode", SERVICE_CODE)
    network = f.optional("networkCode", NETWORK_CODE)
    text = f.text("text", HOP_TEXT_MAX, required=True)  # "" on the first hop; NUL cleaned
    # The engine's context holds a str: "" when the network code was not sent.
    return f.problem() or Hop(session_id, phone, network or "", service_code, text)


def parse_ussd_event(form: Mapping[str, str]) -> SessionEnded | str:
    """`POST /at/ussd/events`: the end of a session. Only the id and the status
    are required (and refused when bad); the rest is read leniently (see the
    module's docstring); `hopsMetadata` is kept in `raw` only."""
    f = _Fields(form, lenient=True)
    ended = SessionEnded(
        session_id=f.required("sessionId", SESSION_ID),
        status=f.required("status", SESSION_STATUS),
        date=f.utc_time("date"),
        phone=f.phone("phoneNumber"),
        service_code=f.optional("serviceCode", SERVICE_CODE),
        network_code=f.optional("networkCode", NETWORK_CODE),
        duration_ms=f.count("durationInMillis", REPORT_COUNT),
        hops=f.count("hopsCount", REPORT_COUNT),
        cost=f.optional("cost", COST),
        input=f.text("input", EVENT_TEXT_MAX) or None,
        last_reply=f.text("lastAppResponse", EVENT_TEXT_MAX) or None,
        error=f.text("errorMessage", EVENT_TEXT_MAX) or None,  # "" unless Failed
        dropped=f.dropped(), raw=raw_form(form),
    )
    return f.problem() or ended


def parse_delivery_report(form: Mapping[str, str]) -> DeliveryReceipt | str:
    """`POST /at/sms/delivery`: a message's delivery status. Only the id and
    the status are required (and refused when bad); the rest is lenient."""
    f = _Fields(form, lenient=True)
    receipt = DeliveryReceipt(
        provider_message_id=f.required("id", PROVIDER_ID),
        status=f.required("status", DELIVERY_STATUS),
        phone=f.phone("phoneNumber"),
        network_code=f.optional("networkCode", NETWORK_CODE),
        failure_reason=f.optional("failureReason", FAILURE_REASON),
        retry_count=f.count("retryCount", REPORT_COUNT),
        dropped=f.dropped(), raw=raw_form(form),
    )
    return f.problem() or receipt


def parse_incoming_sms(form: Mapping[str, str]) -> IncomingSms | str:
    """`POST /at/sms/inbound`: an SMS sent to our short code. The id, the
    sender and the text are required (and refused when bad); the rest is lenient."""
    f = _Fields(form, lenient=True)
    sms = IncomingSms(
        provider_id=f.required("id", PROVIDER_ID),
        sender=f.phone("from", required=True),
        text=f.text("text", SMS_TEXT_MAX, required=True),
        short_code=f.optional("to", SHORT_CODE),
        network_code=f.optional("networkCode", NETWORK_CODE),
        link_id=f.optional("linkId", LINK_ID),
        sent_at=f.optional("date", SMS_DATE),
        dropped=f.dropped(), raw=raw_form(form),
    )
    return f.problem() or sms


# --- reading fields ----------------------------------------------------------------------------


class _Fields:
    """One form, read field by field. Every problem is collected, so one 400
    names all the bad fields; a bad field reads as None. With `lenient` (a
    report), a bad optional field is no problem: its name goes to `dropped`."""

    def __init__(self, form: Mapping[str, str], *, lenient: bool = False) -> None:
        self._form = form
        self._lenient = lenient
        self._problems: list[str] = []
        self._dropped: list[str] = []

    def problem(self) -> str | None:
        """The problems found so far, in one line; None when there are none."""
        return "; ".join(self._problems) or None

    def dropped(self) -> tuple[str, ...]:
        """The optional fields a lenient read left out, in the form's order."""
        return tuple(self._dropped)

    def _get(self, name: str) -> str | None:
        value = self._form.get(name)
        return clean_text(value) if isinstance(value, str) else None

    def _refuse(self, problem: str, *, optional: bool = False, name: str = "") -> None:
        if optional and self._lenient:
            self._dropped.append(name)
        else:
            self._problems.append(problem)

    def _malformed(self, name: str, rule: Rule, *, optional: bool = False) -> None:
        self._refuse(f"{name} malformed: {rule.hint}" if rule.hint else f"{name} malformed",
                     optional=optional, name=name)

    def required(self, name: str, rule: Rule) -> str | None:
        """A field that must be sent, checked exactly as sent (a NUL is not
        cleaned here: a key with one is refused)."""
        value = self._form.get(name)
        if not value:
            return self._refuse(f"{name} missing")
        if not rule.accepts(value):
            return self._malformed(name, rule)
        return value

    def optional(self, name: str, rule: Rule) -> str | None:
        """A field that may be absent or blank (None); else trimmed and checked."""
        value = (self._get(name) or "").strip()
        if not value:
            return None
        if not rule.accepts(value):
            return self._malformed(name, rule, optional=True)
        return value

    def text(self, name: str, max_len: int, *, required: bool = False) -> str | None:
        """Free text, as sent (NUL cleaned): "" is a value; only the length is checked."""
        value = self._get(name)
        if value is None:
            return self._refuse(f"{name} missing") if required else None
        if len(value) > max_len:
            return self._refuse(f"{name} too long", optional=not required, name=name)
        return value

    def phone(self, name: str, *, required: bool = False) -> str | None:
        """A phone number as providers write it (`normalize_provider`), as E.164."""
        value = (self._get(name) or "").strip()
        if not value and not required:
            return None
        try:
            return normalize_provider(value)
        except InvalidPhone:
            return self._refuse(f"{name} missing or not a valid number" if required
                                else f"{name} is not a valid number", optional=not required, name=name)

    def count(self, name: str, rule: Rule = COUNT) -> int | None:
        """An optional whole number (`REPORT_COUNT`: a decimal, rounded)."""
        value = self.optional(name, rule)
        return round(float(value)) if value is not None else None

    def utc_time(self, name: str) -> datetime | None:
        """An optional UTC time, `yyyy-MM-dd HH:mm:ss` (or `EVENT_DATE_FORMATS`),
        as an aware datetime."""
        value = (self._get(name) or "").strip()
        if not value:
            return None
        for form in EVENT_DATE_FORMATS:  # bounded: four formats
            try:
                return datetime.strptime(value, form).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
        return self._refuse(f"{name} malformed: not yyyy-MM-dd HH:mm:ss", optional=True, name=name)
