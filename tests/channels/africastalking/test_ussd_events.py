"""POST /at/ussd/events: the provider's end-of-session notification."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from gateway.ussd.models import UssdSessionLog
from gateway.ussd.sessions import PREFIX, Record
from tests.ussd.helpers import Phone, option

URL = "/at/ussd/events"


def notification(session_id: str = "ATUid_abc123", **changes) -> dict:
    form = {
        "date": "2025-03-01 09:30:15",
        "sessionId": session_id,
        "serviceCode": "*384*7#",
        "networkCode": "63510",
        "phoneNumber": "+250788000001",
        "status": "Incomplete",
        "cost": "RWF 0.0000",
        "durationInMillis": "45210",
        "hopsCount": "3",
        "hopsMetadata": "",
        "input": "1*Jean Bosco",
        "lastAppResponse": "CON Choose your district",
        "errorMessage": "",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def rows(gateway) -> list[UssdSessionLog]:
    with gateway.db.session() as s:
        return list(s.scalars(select(UssdSessionLog)))


def test_a_notification_is_stored_with_the_last_screen(gateway):
    phone = Phone(gateway.http)
    phone.hop(option(phone.dial(), "English"))  # the next screen asks for a name
    session_id = phone.session
    screen = _screen_in_redis(gateway, session_id)
    assert screen  # the session record holds the current screen

    response = gateway.http.post(URL, data=notification(session_id, phoneNumber="0788000001"))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    [row] = rows(gateway)
    assert row.session_id == session_id
    assert row.phone == "+250788000001"  # normalised
    assert (row.service_code, row.network_code, row.status) == ("*384*7#", "63510", "Incomplete")
    assert row.date == datetime(2025, 3, 1, 9, 30, 15, tzinfo=timezone.utc)
    assert (row.duration_ms, row.hops, row.cost) == (45210, 3, "RWF 0.0000")
    assert (row.input, row.last_reply, row.error) == (
        "1*Jean Bosco", "CON Choose your district", None)
    assert row.last_screen == screen


def _screen_in_redis(gateway, session_id: str) -> str | None:
    raw = gateway.redis.get(f"{PREFIX}:s:{session_id}")
    return Record.loads(raw).state["scr"] if raw else None


def test_a_repeat_updates_the_row_and_keeps_the_screen(gateway):
    phone = Phone(gateway.http)
    phone.dial()
    session_id = phone.session
    screen = _screen_in_redis(gateway, session_id)
    gateway.http.post(URL, data=notification(session_id))
    gateway.redis.delete(f"{PREFIX}:s:{session_id}")  # the session record expired meanwhile
    response = gateway.http.post(URL, data=notification(
        session_id, status="Failed", hopsCount="4", errorMessage="timeout"))
    assert response.status_code == 200
    [row] = rows(gateway)
    assert (row.status, row.hops, row.error) == ("Failed", 4, "timeout")
    assert row.last_screen == screen


def test_exact_duplicates_leave_one_row(gateway):
    for _ in range(3):
        assert gateway.http.post(URL, data=notification("dup")).status_code == 200
    assert gateway.http.post(URL, data=notification("other")).status_code == 200
    with gateway.db.session() as s:
        assert s.scalar(select(func.count()).select_from(UssdSessionLog)) == 2


def test_an_unknown_session_has_no_screen_and_optional_fields_may_be_missing(gateway):
    form = {"sessionId": "ATUid_gone", "status": "Success"}
    assert gateway.http.post(URL, data=form).status_code == 200
    [row] = rows(gateway)
    assert (row.status, row.last_screen, row.phone, row.date, row.hops) == (
        "Success", None, None, None, None)


def test_a_garbage_session_record_does_not_break_the_notification(gateway):
    gateway.redis.set(f"{PREFIX}:s:weird", b"not json")
    assert gateway.http.post(URL, data=notification("weird")).status_code == 200
    assert rows(gateway)[0].last_screen is None


MALFORMED = [
    ({"sessionId": None}, "sessionId"),
    ({"sessionId": "x" * 129}, "sessionId"),
    ({"status": None}, "status"),
    ({"status": "Done!"}, "status"),
    # Odd optional fields are stored without them (tests/security/test_input_reports.py).
    ({"sessionId": None, "date": "01/03/2025 09:30", "cost": "x" * 33}, "sessionId"),
]


def test_a_malformed_field_is_400_with_a_reason_and_nothing_stored(gateway):
    for changes, reason in MALFORMED:
        response = gateway.http.post(URL, data=notification(**changes))
        assert response.status_code == 400, changes
        assert reason in response.get_data(as_text=True), changes
    assert rows(gateway) == []


def test_an_unknown_status_word_is_kept(gateway):
    assert gateway.http.post(URL, data=notification(status="Expired")).status_code == 200
    assert rows(gateway)[0].status == "Expired"


def test_redis_down_still_records_the_session(gateway_factory):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    gw = gateway_factory(redis_client=dead)
    assert gw.http.post(URL, data=notification("no-redis")).status_code == 200
    [row] = rows(gw)
    assert (row.session_id, row.last_screen) == ("no-redis", None)
    dead.close()


def test_the_callback_token_guards_the_route(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": "a-long-random-callback-secret"})
    assert gw.http.post(URL, data=notification()).status_code == 403
    ok = gw.http.post(URL + "?token=a-long-random-callback-secret", data=notification())
    assert ok.status_code == 200
    assert len(rows(gw)) == 1
