"""The provider's callback forms, parsed: one table per callback.

Each row is a change to a good form (a value of None removes the field) and
what the parser must return: the parsed value, or the problem text exactly.
Pure: no app, no database (the routes are the other test files here).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from gateway.channels.africastalking.parsers import (
    DeliveryReceipt, parse_delivery_report, parse_incoming_sms, parse_ussd_event, parse_ussd_hop)
from gateway.sms.inbound import IncomingSms
from gateway.ussd.events import SessionEnded
from gateway.ussd.hop import Hop

PHONE = "+250788000001"
# Bytes that are not UTF-8 reach the parser re-escaped (Werkzeug), e.g. `%FF`.
UNDECODABLE = "%FF%FE%C3"
LONE_SURROGATE = "\udcff"


def form(good: dict, change: dict) -> dict:
    merged = {**good, **change}
    return {name: value for name, value in merged.items() if value is not None}


def rows(table):
    """pytest params with the row's change as its id."""
    return [pytest.param(change, expected, id=repr(change)[:60]) for change, expected in table]


# --- POST /at/ussd ------------------------------------------------------------------------------

HOP = {"sessionId": "ATUid_7c89", "phoneNumber": PHONE, "serviceCode": "*384*7#",
       "networkCode": "63510", "text": ""}


def hop(**changes) -> Hop:
    values = {"session_id": "ATUid_7c89", "phone": PHONE, "network": "63510",
              "service_code": "*384*7#", "text": ""} | changes
    return Hop(**values)


HOP_TABLE = [
    ({}, hop()),
    ({"text": "1*2*50"}, hop(text="1*2*50")),
    ({"text": "Jean*Bosco Ngabo é"}, hop(text="Jean*Bosco Ngabo é")),  # a user's text, as typed
    ({"text": " 1 "}, hop(text=" 1 ")),
    ({"text": "1" * 1000}, hop(text="1" * 1000)),
    ({"text": "1" * 1001}, "text too long"),
    ({"text": None}, "text missing"),
    ({"serviceCode": "*384*7*482113#"}, hop(service_code="*384*7*482113#")),
    ({"serviceCode": None}, "serviceCode missing"),
    ({"serviceCode": "hello"}, "serviceCode malformed"),
    ({"serviceCode": "*384*7#\n"}, "serviceCode malformed"),  # the whole value must match
    ({"serviceCode": "*" * 41}, "serviceCode malformed"),
    # networkCode: optional, the one rule of every callback (3 to 8 ASCII digits)
    ({"networkCode": "99999"}, hop(network="99999")),  # the sandbox
    ({"networkCode": "6351099"}, hop(network="6351099")),  # refused here before: {3,6} had drifted
    ({"networkCode": "63510999"}, hop(network="63510999")),
    ({"networkCode": "635109999"}, "networkCode malformed"),
    ({"networkCode": "MTN"}, "networkCode malformed"),
    ({"networkCode": "６３５１０"}, "networkCode malformed"),  # full-width digits are not digits here
    ({"networkCode": None}, hop(network="")),
    ({"networkCode": ""}, hop(network="")),
    ({"networkCode": "  "}, hop(network="")),
    ({"networkCode": " 63514\n"}, hop(network="63514")),
    # phoneNumber: required, any form phones.normalize reads
    ({"phoneNumber": "250788000001"}, hop()),  # without the +
    ({"phoneNumber": "0788 000 001"}, hop()),
    ({"phoneNumber": None}, "phoneNumber missing or not a valid number"),
    ({"phoneNumber": ""}, "phoneNumber missing or not a valid number"),
    ({"phoneNumber": "12"}, "phoneNumber missing or not a valid number"),
    ({"phoneNumber": "+250788000001" + "1" * 100}, "phoneNumber missing or not a valid number"),
    # sessionId: required, 1 to 128 printable characters, as sent
    ({"sessionId": "x" * 128}, hop(session_id="x" * 128)),
    ({"sessionId": "x" * 129}, "sessionId malformed"),
    ({"sessionId": None}, "sessionId missing"),
    ({"sessionId": ""}, "sessionId missing"),
    ({"sessionId": "ATUid\x00"}, "sessionId malformed"),
    ({"sessionId": "ATUid" + LONE_SURROGATE}, "sessionId malformed"),
    ({"sessionId": "ATUid" + UNDECODABLE}, hop(session_id="ATUid" + UNDECODABLE)),  # as before
    # every problem at once, in the form's order
    ({"sessionId": None, "networkCode": "MTN", "text": None},
     "sessionId missing; networkCode malformed; text missing"),
]


@pytest.mark.parametrize("change, expected", rows(HOP_TABLE))
def test_ussd_hop(change, expected):
    assert parse_ussd_hop(form(HOP, change)) == expected


# --- POST /at/ussd/events -----------------------------------------------------------------------

EVENT = {"date": "2025-03-01 09:30:15", "sessionId": "ATUid_abc123", "serviceCode": "*384*7#",
         "networkCode": "63510", "phoneNumber": PHONE, "status": "Incomplete", "cost": "RWF 0.0000",
         "durationInMillis": "45210", "hopsCount": "3", "hopsMetadata": "", "input": "1*Jean Bosco",
         "lastAppResponse": "CON Choose your district", "errorMessage": ""}
ALL_OPTIONAL_EMPTY = {name: "" for name in EVENT if name not in ("sessionId", "status")}
ONLY_REQUIRED = {name: None for name in EVENT if name not in ("sessionId", "status")}


def ended(**changes) -> SessionEnded:
    values = {"session_id": "ATUid_abc123", "status": "Incomplete",
              "date": datetime(2025, 3, 1, 9, 30, 15, tzinfo=timezone.utc), "phone": PHONE,
              "service_code": "*384*7#", "network_code": "63510", "duration_ms": 45210, "hops": 3,
              "cost": "RWF 0.0000", "input": "1*Jean Bosco",
              "last_reply": "CON Choose your district", "error": None} | changes
    return SessionEnded(**values)


BARE = {name: None for name in ("date", "phone", "service_code", "network_code", "duration_ms",
                                "hops", "cost", "input", "last_reply", "error")}

EVENT_TABLE = [
    ({}, ended()),
    (ONLY_REQUIRED, ended(**BARE)),
    (ALL_OPTIONAL_EMPTY, ended(**BARE)),  # the provider sends empty fields for absent ones
    ({"status": "Failed", "errorMessage": "timeout"}, ended(status="Failed", error="timeout")),
    ({"status": "Expired"}, ended(status="Expired")),  # an unknown word is kept
    ({"status": "x" * 17}, "status malformed"),
    ({"status": "Done!"}, "status malformed"),
    ({"status": None}, "status missing"),
    ({"sessionId": None}, "sessionId missing"),
    ({"sessionId": "x" * 129}, "sessionId malformed"),
    ({"date": " 2025-03-01 09:30:15 "}, ended()),
    # optional fields are read leniently: an odd value is parsed when it can be,
    ({"date": "2025-03-01 09:30:15.123"}, ended(date=datetime(2025, 3, 1, 9, 30, 15, 123000,
                                                              tzinfo=timezone.utc))),
    ({"date": "2025-03-01T09:30:15"}, ended()),
    ({"durationInMillis": "1234.0"}, ended(duration_ms=1234)),
    ({"hopsCount": "3.0"}, ended(hops=3)),
    ({"phoneNumber": "254711000001"}, ended(phone="+254711000001")),  # foreign, without its +
    # else left out (named in `dropped`; the form is kept raw), never a refusal
    ({"date": "01/03/2025 09:30"}, ended(date=None, dropped=("date",))),
    ({"date": "2025-02-30 09:30:15"}, ended(date=None, dropped=("date",))),
    ({"phoneNumber": "250788000001"}, ended()),
    ({"phoneNumber": "0788000001"}, ended()),
    ({"phoneNumber": "12"}, ended(phone=None, dropped=("phoneNumber",))),
    ({"phoneNumber": "0788 CALL ME"}, ended(phone=None, dropped=("phoneNumber",))),
    ({"networkCode": "6351099"}, ended(network_code="6351099")),
    ({"networkCode": "635109999"}, ended(network_code=None, dropped=("networkCode",))),
    ({"networkCode": "MTN"}, ended(network_code=None, dropped=("networkCode",))),
    ({"serviceCode": "abc"}, ended(service_code=None, dropped=("serviceCode",))),
    ({"durationInMillis": "-5"}, ended(duration_ms=None, dropped=("durationInMillis",))),
    ({"durationInMillis": "1" * 10}, ended(duration_ms=None, dropped=("durationInMillis",))),
    ({"hopsCount": "three"}, ended(hops=None, dropped=("hopsCount",))),
    ({"hopsCount": " 4 "}, ended(hops=4)),
    ({"cost": "x" * 33}, ended(cost=None, dropped=("cost",))),
    ({"input": "1" * 10_000}, ended(input="1" * 10_000)),
    ({"input": "1" * 10_001}, ended(input=None, dropped=("input",))),
    ({"lastAppResponse": "END Murakoze\n" + UNDECODABLE},
     ended(last_reply="END Murakoze\n" + UNDECODABLE)),
    ({"lastAppResponse": "END a\x00b"}, ended(last_reply="END a\ufffdb")),  # NUL: stored replaced
    ({"errorMessage": "x" * 10_001}, ended(error=None, dropped=("errorMessage",))),
    ({"date": "soon", "cost": "x" * 33}, ended(date=None, cost=None, dropped=("date", "cost"))),
    # the key fields stay strict, and a bad one refuses the lot
    ({"sessionId": "ATUid\x00"}, "sessionId malformed"),
    ({"status": "Success\x00"}, "status malformed"),
]


@pytest.mark.parametrize("change, expected", rows(EVENT_TABLE))
def test_ussd_event(change, expected):
    assert parse_ussd_event(form(EVENT, change)) == expected


# --- POST /at/sms/delivery ----------------------------------------------------------------------

REPORT = {"id": "ATXid_1", "status": "Success", "phoneNumber": PHONE, "networkCode": "63510",
          "retryCount": "0"}


def receipt(**changes) -> DeliveryReceipt:
    values = {"provider_message_id": "ATXid_1", "status": "Success", "phone": PHONE,
              "network_code": "63510", "failure_reason": None, "retry_count": 0} | changes
    return DeliveryReceipt(**values)


REPORT_TABLE = [
    ({}, receipt()),
    ({"phoneNumber": None, "networkCode": None, "retryCount": None},
     receipt(phone=None, network_code=None, retry_count=None)),
    ({"phoneNumber": "", "networkCode": " ", "retryCount": "", "failureReason": ""},
     receipt(phone=None, network_code=None, retry_count=None)),
    ({"status": "Rejected", "failureReason": "UserInBlackList"},
     receipt(status="Rejected", failure_reason="UserInBlackList")),
    ({"status": "AbsentSubscriber"}, receipt(status="AbsentSubscriber")),
    ({"status": "Teleported"}, receipt(status="Teleported")),  # stored, changes nothing
    ({"retryCount": "3"}, receipt(retry_count=3)),
    ({"phoneNumber": "250788000001"}, receipt()),
    ({"networkCode": "6351099"}, receipt(network_code="6351099")),
    # optional fields: read leniently, or left out (named in `dropped`), never a refusal
    ({"status": "Failed", "failureReason": "Failed/Rejected by operator"},
     receipt(status="Failed", failure_reason="Failed/Rejected by operator")),
    ({"retryCount": "2.0"}, receipt(retry_count=2)),
    ({"phoneNumber": "254711000001"}, receipt(phone="+254711000001")),  # foreign, without its +
    ({"networkCode": "635109999"}, receipt(network_code=None, dropped=("networkCode",))),
    ({"retryCount": "-1"}, receipt(retry_count=None, dropped=("retryCount",))),
    ({"networkCode": "MTN"}, receipt(network_code=None, dropped=("networkCode",))),
    ({"phoneNumber": "12"}, receipt(phone=None, dropped=("phoneNumber",))),
    ({"phoneNumber": "٠٧٨٨٠٠٠٠٠١"}, receipt(phone=None, dropped=("phoneNumber",))),
    ({"failureReason": "x" * 65}, receipt(failure_reason=None, dropped=("failureReason",))),
    ({"failureReason": "Insufficient" + UNDECODABLE},
     receipt(failure_reason="Insufficient" + UNDECODABLE)),  # the escaped bytes, as text
    ({"failureReason": "Deli\x00very"}, receipt(failure_reason="Deli\ufffdvery")),
    ({"phoneNumber": "12", "networkCode": "MTN", "retryCount": "x"},
     receipt(phone=None, network_code=None, retry_count=None,
             dropped=("phoneNumber", "networkCode", "retryCount"))),
    # the key fields: refused when missing or malformed
    ({"id": None}, "id missing"),
    ({"id": ""}, "id missing"),
    ({"id": "has space"}, "id malformed"),
    ({"id": "x" * 65}, "id malformed"),
    ({"id": "ATXid_é"}, "id malformed"),
    ({"id": "ATXid_1\n"}, "id malformed"),
    ({"status": None}, "status missing"),
    ({"status": "Success!"}, "status malformed"),
    ({"status": "x" * 25}, "status malformed"),
    ({"id": "ATXid\x00"}, "id malformed"),
    ({"id": None, "networkCode": "MTN"}, "id missing"),  # the odd optional field is no problem
]


@pytest.mark.parametrize("change, expected", rows(REPORT_TABLE))
def test_delivery_report(change, expected):
    assert parse_delivery_report(form(REPORT, change)) == expected


# --- POST /at/sms/inbound -----------------------------------------------------------------------

INBOUND = {"from": PHONE, "to": "21555", "text": "HELP", "date": "2026-11-28 08:00:00",
           "id": "ATin-1", "linkId": "link-1", "networkCode": "63510"}


def incoming(**changes) -> IncomingSms:
    values = {"provider_id": "ATin-1", "sender": PHONE, "text": "HELP", "short_code": "21555",
              "network_code": "63510", "link_id": "link-1", "sent_at": "2026-11-28 08:00:00"} | changes
    return IncomingSms(**values)


NO_EXTRAS = {"short_code": None, "network_code": None, "link_id": None, "sent_at": None}

INBOUND_TABLE = [
    ({}, incoming()),
    ({"to": None, "date": None, "linkId": None, "networkCode": None}, incoming(**NO_EXTRAS)),
    ({"to": "", "date": "", "linkId": " ", "networkCode": ""}, incoming(**NO_EXTRAS)),
    ({"text": ""}, incoming(text="")),
    ({"text": " Stop "}, incoming(text=" Stop ")),  # kept as sent; the keyword match trims
    ({"text": "Muraho 👋 " + UNDECODABLE}, incoming(text="Muraho 👋 " + UNDECODABLE)),
    ({"text": "x" * 5000}, incoming(text="x" * 5000)),
    ({"text": "x" * 5001}, "text too long"),
    ({"text": None}, "text missing"),
    ({"from": "250788000001"}, incoming()),
    ({"from": "0788 000 001"}, incoming()),
    ({"from": None}, "from missing or not a valid number"),
    ({"from": "not a phone"}, "from missing or not a valid number"),
    ({"from": "0788 CALL ME"}, "from missing or not a valid number"),  # letters are not digits
    ({"from": "٠٧٨٨٠٠٠٠٠١"}, "from missing or not a valid number"),  # nor Arabic-Indic digits
    ({"from": "254711000001"}, incoming(sender="+254711000001")),  # foreign, without its +
    ({"text": "STOP\x00"}, incoming(text="STOP\ufffd")),  # NUL: stored replaced, never a 500
    ({"id": None}, "id missing"),
    ({"id": "has space"}, "id malformed"),
    ({"to": "short code!"}, incoming(short_code=None, dropped=("to",))),
    ({"to": "+250788000009"}, incoming(short_code="+250788000009")),
    ({"networkCode": "6351099"}, incoming(network_code="6351099")),
    ({"networkCode": "6351O"}, incoming(network_code=None, dropped=("networkCode",))),
    ({"linkId": "x" * 65}, incoming(link_id=None, dropped=("linkId",))),
    ({"date": "2026-11-28\x0008:00"}, incoming(sent_at="2026-11-28\ufffd08:00")),
    ({"id": "ATin\x00"}, "id malformed"),
]


@pytest.mark.parametrize("change, expected", rows(INBOUND_TABLE))
def test_incoming_sms(change, expected):
    assert parse_incoming_sms(form(INBOUND, change)) == expected


# --- one networkCode rule for every callback ----------------------------------------------------

CALLBACKS = [(parse_ussd_hop, HOP), (parse_ussd_event, EVENT), (parse_delivery_report, REPORT),
             (parse_incoming_sms, INBOUND)]
NETWORK_CODES = [("63510", True), ("63514", True), ("99999", True), ("635", True),
                 ("6351099", True), ("63510999", True), ("63", False), ("635109999", False),
                 ("63 510", False), ("-63510", False), ("٦٣٥١٠", False)]


REPORTS = (parse_ussd_event, parse_delivery_report, parse_incoming_sms)


@pytest.mark.parametrize("parse, good", CALLBACKS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("code, accepted", NETWORK_CODES)
def test_every_callback_reads_the_network_code_alike(parse, good, code, accepted):
    """One rule: the same codes are read everywhere. What a code it refuses
    costs differs: a hop is refused, a report is kept without it (and raw)."""
    parsed = parse(form(good, {"networkCode": code}))
    network = lambda value: getattr(value, "network_code", getattr(value, "network", None))  # noqa: E731
    if accepted:
        assert not isinstance(parsed, str) and network(parsed) == code, parsed
    elif parse in REPORTS:
        assert network(parsed) is None and parsed.dropped == ("networkCode",), parsed
        assert ["networkCode", code] in json.loads(parsed.raw)
    else:
        assert parsed == "networkCode malformed"


@pytest.mark.parametrize("parse, good", [(p, g) for p, g in CALLBACKS if p in REPORTS],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_a_report_keeps_its_raw_form_repeats_and_odd_characters_included(parse, good):
    from werkzeug.datastructures import MultiDict

    pairs = [*good.items(), ("networkCode", "MTN\x00"), ("extra", "\udcff é"), ("extra", "2")]
    parsed = parse(MultiDict(pairs))
    assert not isinstance(parsed, str), parsed
    # every pair kept (a MultiDict groups a repeated name's values at its first place)
    assert sorted(map(tuple, json.loads(parsed.raw))) == sorted(pairs)
    assert parsed.raw.isascii()  # what any database stores, NUL and surrogates as escapes


# --- through the routes: undecodable bytes are never a 500 --------------------------------------

ROUTES = [("/at/ussd", HOP), ("/at/ussd/events", EVENT), ("/at/sms/delivery", REPORT),
          ("/at/sms/inbound", INBOUND)]


def test_undecodable_bytes_reach_the_parser_escaped(gateway):
    response = gateway.http.post("/at/ussd", data=f"sessionId=x&networkCode={UNDECODABLE}",
                                 content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 400
    assert "networkCode malformed" in response.get_data(as_text=True)


@pytest.mark.parametrize("url, good", ROUTES, ids=[url for url, _ in ROUTES])
def test_undecodable_bytes_are_a_reply_not_a_500(gateway, url, good):
    for field in good:
        body = "&".join(f"{name}={UNDECODABLE}" if name == field else f"{name}={quote(value)}"
                        for name, value in good.items())
        response = gateway.http.post(url, data=body,
                                     content_type="application/x-www-form-urlencoded; charset=UTF-8")
        assert response.status_code in (200, 400), (field, response.status_code)
        assert response.mimetype == "text/plain"
