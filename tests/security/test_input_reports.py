"""The provider's reports are stored whatever their optional fields hold.

A delivery report, an end-of-session notification or an incoming SMS that
has its key fields is stored (200) with every field it could read, the rest
None and the whole form kept in `raw`; only a report without its key fields
is refused. A NUL is stored replaced, never a 500 (the provider would resend
it for hours). A sender that is not made of digits gets nothing, STOP or not.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from gateway.sms.models import DeliveryReport, InboundSms, Message, MessageStatus, OptOut
from gateway.ussd.models import UssdSessionLog

DELIVERY, INBOUND, EVENTS = "/at/sms/delivery", "/at/sms/inbound", "/at/ussd/events"
PHONE = "+250788000001"


def report(**changes) -> dict:
    form = {"id": "ATXid_5", "status": "Failed", "phoneNumber": PHONE, "networkCode": "63510",
            "retryCount": "0"} | changes
    return {name: value for name, value in form.items() if value is not None}


def event(**changes) -> dict:
    form = {"date": "2025-03-01 09:30:15", "sessionId": "ATUid_odd", "serviceCode": "*384*7#",
            "networkCode": "63510", "phoneNumber": PHONE, "status": "Success", "cost": "RWF 0.0000",
            "durationInMillis": "45210", "hopsCount": "3", "hopsMetadata": "", "input": "1",
            "lastAppResponse": "END Murakoze", "errorMessage": ""} | changes
    return {name: value for name, value in form.items() if value is not None}


def inbound(text: str, sender: str = PHONE, provider_id: str = "ATin-1", **changes) -> dict:
    form = {"from": sender, "to": "21555", "text": text, "date": "2026-11-28 08:00:00",
            "id": provider_id, "linkId": "link-1", "networkCode": "63510"} | changes
    return {name: value for name, value in form.items() if value is not None}


def only(db, model):
    with db.session() as s:
        [row] = s.scalars(select(model)).all()
        s.expunge(row)
        return row


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- delivery reports --------------------------------------------------------------------------

ODD_REPORT_FIELDS = [
    # (the odd fields, the parsed columns expected)
    ({"failureReason": "Failed/Rejected by operator"},
     {"failure_reason": "Failed/Rejected by operator"}),
    ({"failureReason": "x" * 65}, {"failure_reason": None}),
    ({"phoneNumber": "254711000001"}, {}),  # a foreign number without its +
    ({"phoneNumber": "12"}, {}),
    ({"retryCount": "1234.0"}, {"retry_count": 1234}),
    ({"retryCount": "-1"}, {"retry_count": None}),
    ({"networkCode": "MTN"}, {"network_code": None}),
    ({"date": "2026-11-28 08:00:00.123", "durationInMillis": "1234.0"}, {}),  # not ours to read
    ({"failureReason": "Deli\x00very"}, {"failure_reason": "Deli\ufffdvery"}),
]


@pytest.mark.parametrize("odd, parsed", ODD_REPORT_FIELDS, ids=[repr(o)[:40] for o, _ in ODD_REPORT_FIELDS])
def test_a_report_with_an_id_is_stored_whatever_its_optional_fields_hold(gateway, odd, parsed):
    form = report(**odd)
    response = gateway.http.post(DELIVERY, data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    row = only(gateway.db, DeliveryReport)
    assert (row.provider_message_id, row.status) == ("ATXid_5", "Failed")
    for column, value in parsed.items():
        assert getattr(row, column) == value, column
    assert sorted(map(tuple, json.loads(row.raw))) == sorted(form.items())


def test_an_odd_report_still_moves_its_message(gateway):
    with gateway.db.session() as s:
        s.add(Message(recipient=PHONE, text="hi", language="en", kind="listing_receipt",
                      status=MessageStatus.SENT, provider_message_id="ATXid_5"))
    response = gateway.http.post(DELIVERY, data=report(failureReason="Failed/Rejected by operator",
                                                       networkCode="MTN", retryCount="2.0"))
    assert response.status_code == 200
    message = only(gateway.db, Message)
    assert (message.delivery_status, message.failure_reason) == ("Failed", "Failed/Rejected by operator")
    assert only(gateway.db, DeliveryReport).applied is True


@pytest.mark.parametrize("change, reason", [({"id": None}, "id missing"), ({"status": None}, "status missing"),
                                            ({"id": "ATX\x00"}, "id malformed")])
def test_only_a_report_without_its_key_fields_is_refused(gateway, change, reason):
    response = gateway.http.post(DELIVERY, data=report(networkCode="MTN", **change))
    assert response.status_code == 400 and reason in response.get_data(as_text=True)
    assert count(gateway.db, DeliveryReport) == 0


# --- end-of-session notifications --------------------------------------------------------------


def test_a_notification_with_odd_fields_is_stored_with_what_could_be_read(gateway):
    form = event(date="2025-03-01 09:30:15.250", durationInMillis="1234.0", phoneNumber="254711000001",
                 cost="x" * 40, networkCode="MTN", lastAppResponse="END a\x00b")
    response = gateway.http.post(EVENTS, data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
    row = only(gateway.db, UssdSessionLog)
    assert (row.session_id, row.status) == ("ATUid_odd", "Success")
    assert row.date == datetime(2025, 3, 1, 9, 30, 15, 250000, tzinfo=timezone.utc)
    assert (row.duration_ms, row.phone, row.cost, row.network_code) == (1234, "+254711000001", None, None)
    assert row.last_reply == "END a\ufffdb"
    assert sorted(map(tuple, json.loads(row.raw))) == sorted(form.items())


# --- incoming SMS -------------------------------------------------------------------------------


def test_an_incoming_sms_with_a_nul_is_stored_replaced_and_answered_200_once(gateway):
    first = gateway.http.post(INBOUND, data=inbound("Muraho\x00 Isoko", date="2026\x00", linkId="l" * 70))
    again = gateway.http.post(INBOUND, data=inbound("Muraho\x00 Isoko", date="2026\x00", linkId="l" * 70))
    assert (first.status_code, first.get_data(as_text=True)) == (200, "ok")
    assert (again.status_code, again.get_data(as_text=True)) == (200, "duplicate")  # no resend loop
    row = only(gateway.db, InboundSms)
    assert (row.text, row.sent_at, row.link_id) == ("Muraho\ufffd Isoko", "2026\ufffd", None)
    assert ["linkId", "l" * 70] in json.loads(row.raw)


@pytest.mark.parametrize("sender", ["0788 CALL ME", "+250 788 CALLME", "٠٧٨٨٠٠٠٠٠١", "０７８８０００００１"])
def test_stop_from_a_sender_that_is_not_digits_confirms_nothing(gateway, sender):
    response = gateway.http.post(INBOUND, data=inbound("STOP", sender=sender))
    assert response.status_code == 400
    assert "from missing or not a valid number" in response.get_data(as_text=True)
    assert count(gateway.db, OptOut) == 0
    assert count(gateway.db, Message) == 0  # no confirmation to a number that never texted
    assert count(gateway.db, InboundSms) == 0
