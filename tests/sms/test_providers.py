"""Provider adapters: the outcome table, and the real SDK against the loopback simulator."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.sms.providers import Outcome, OutboxProvider, SendResult, provider_for
from gateway.sms.providers.africastalking import AfricasTalkingProvider, parse_reply
from gateway.sms.providers.base import classify_http, classify_recipient, classify_whole_request
from gateway.core.settings import Settings
from tests.sim import Hang, HttpError, Late, ProviderSimulator, Status, WholeFailure

PHONE = "+250788000001"


@pytest.mark.parametrize("code, outcome", [
    (100, Outcome.ACCEPTED), (101, Outcome.ACCEPTED), (102, Outcome.ACCEPTED),
    (401, Outcome.FAILED), (402, Outcome.FAILED), (403, Outcome.FAILED), (404, Outcome.FAILED),
    (405, Outcome.HOLD),
    (406, Outcome.FAILED), (407, Outcome.FAILED), (409, Outcome.FAILED), (408, Outcome.FAILED),
    (500, Outcome.RETRY), (501, Outcome.RETRY),
    (502, Outcome.FAILED), (999, Outcome.FAILED),
])
def test_recipient_codes(code, outcome):
    result = classify_recipient(code, "Whatever", "ATXid_1", "RWF 10.0000")
    assert result.outcome == outcome and result.status_code == code
    if outcome == Outcome.ACCEPTED:
        assert (result.message_id, result.cost) == ("ATXid_1", "RWF 10.0000")
    else:
        assert result.reason == "Whatever" and "Whatever" in result.detail


def test_an_accepted_recipient_without_an_id_is_still_accepted():
    assert classify_recipient(101, "Success", "None", None) == SendResult.accepted(None, None, 101)


@pytest.mark.parametrize("status, outcome", [
    (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY), (429, Outcome.RETRY),
    (None, Outcome.RETRY), (400, Outcome.FAILED), (401, Outcome.HOLD), (403, Outcome.HOLD),
    (404, Outcome.FAILED),
])
def test_http_statuses(status, outcome):
    result = classify_http(status, "body\ntext")
    assert result.outcome == outcome
    assert "body text" in result.detail  # whitespace folded, kept for the row's error


def test_whole_request_failures():
    assert classify_whole_request("InvalidSenderId") == SendResult.failed(
        "InvalidSenderId", "request refused: InvalidSenderId")
    assert classify_whole_request("Insufficient Balance").outcome == Outcome.HOLD
    assert classify_whole_request("Something went wrong").reason == "request_rejected"


def test_a_reply_the_sdk_returned_as_text_is_still_read():
    # With "application/json; charset=utf-8" the SDK hands back the raw string.
    body = json.dumps({"SMSMessageData": {"Message": "Sent", "Recipients": [
        {"statusCode": 101, "number": PHONE, "status": "Success", "cost": "RWF 10.0000",
         "messageId": "ATXid_5"}]}})
    assert parse_reply(body, PHONE) == SendResult.accepted("ATXid_5", "RWF 10.0000", 101)
    assert parse_reply("<html>oops</html>", PHONE).reason == "unreadable_reply"
    assert parse_reply({"unexpected": 1}, PHONE).outcome == Outcome.FAILED


# --- the SDK against the simulator --------------------------------------------------------------


@pytest.fixture
def sim():
    with ProviderSimulator("isoko", "key") as simulator:
        yield simulator


@pytest.fixture
def at(sim):
    return AfricasTalkingProvider("isoko", "key", base_url=sim.url, timeout=(1.0, 0.5))


def test_the_sdk_posts_to_the_configured_base_url(sim, at):
    assert at.url == f"{sim.url}/version1/messaging"
    result = at.send(PHONE, "Isoko: hello", "ISOKO")
    assert result == SendResult.accepted("ATXid_1", "RWF 10.0000", 101)
    [request] = sim.requests
    assert request.form == {"username": "isoko", "to": PHONE, "message": "Isoko: hello",
                            "from": "ISOKO", "bulkSMSMode": "1"}
    assert at.send(PHONE, "again", None).message_id == "ATXid_2"
    assert "from" not in sim.requests[1].form


def test_without_a_base_url_the_sdk_keeps_the_providers_own():
    # Built only, never called: nothing leaves the machine.
    assert AfricasTalkingProvider("isoko", "key").url == "https://api.africastalking.com/version1/messaging"
    assert AfricasTalkingProvider("sandbox", "key").url == \
        "https://api.sandbox.africastalking.com/version1/messaging"


@pytest.mark.parametrize("behaviour, outcome, reason", [
    (Status(102), Outcome.ACCEPTED, None),
    (Status(405), Outcome.HOLD, "InsufficientBalance"),
    (Status(501), Outcome.RETRY, "GatewayError"),
    (Status(409), Outcome.FAILED, "DoNotDisturbRejection"),
    (HttpError(500, "Internal Server Error"), Outcome.RETRY, "http_500"),
    (HttpError(429, "Too Many Requests"), Outcome.RETRY, "http_429"),
    (HttpError(422, "Unprocessable"), Outcome.FAILED, "http_422"),
    (WholeFailure("InvalidSenderId"), Outcome.FAILED, "InvalidSenderId"),
    (Hang(3), Outcome.UNKNOWN, "timeout"),  # the request went out: it may have been sent
    (Late(3), Outcome.UNKNOWN, "timeout"),
])
def test_each_provider_answer_maps_to_an_outcome(sim, at, behaviour, outcome, reason):
    sim.script(behaviour)
    result = at.send(PHONE, "Isoko: hello", None)
    assert (result.outcome, result.reason) == (outcome, reason)
    took = outcome == Outcome.ACCEPTED or isinstance(behaviour, Late)  # Late: taken, answered late
    assert len(sim.received()) == (1 if took else 0)


def test_a_wrong_key_holds_the_queue_instead_of_failing(sim):
    wrong = AfricasTalkingProvider("isoko", "nope", base_url=sim.url)
    result = wrong.send(PHONE, "hi", None)
    assert (result.outcome, result.status_code, result.reason) == (Outcome.HOLD, 401, "http_401")
    assert result.detail == "credentials refused: HTTP 401: The supplied authentication is invalid"


def test_a_number_the_sdk_refuses_fails_before_any_request(sim, at):
    result = at.send("0788000001", "hi", None)
    assert (result.outcome, result.reason) == (Outcome.FAILED, "InvalidPhoneNumber")
    assert sim.requests == []


def test_an_unreachable_provider_is_retried():
    gone = AfricasTalkingProvider("isoko", "key", base_url="http://127.0.0.1:1", timeout=(0.5, 0.5))
    assert gone.send(PHONE, "hi", None).outcome == Outcome.RETRY


def test_concurrent_sends_each_get_their_own_http_status(sim, at):
    """The adapter remembers the reply's status per thread: 40 sends at once,
    half answered 503 (retry), half 400 (failed), none mixed up."""
    sim.delay = 0.02
    for i in range(40):
        sim.numbers[f"+2507880000{i:02d}"] = HttpError(503 if i % 2 else 400, "no")
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: at.send(f"+2507880000{i:02d}", "hi", None), range(40)))
    assert [r.reason for r in results] == ["http_503" if i % 2 else "http_400" for i in range(40)]


def test_provider_for_follows_the_settings(sim):
    assert isinstance(provider_for(Settings()), OutboxProvider)
    provider = provider_for(Settings(at_username="isoko", at_api_key="key", at_api_url=sim.url))
    assert isinstance(provider, AfricasTalkingProvider)
    assert provider.send(PHONE, "hi", None).outcome == Outcome.ACCEPTED
    assert OutboxProvider().send(PHONE, "hi", None) == SendResult.accepted(None)


def test_the_simulator_stops_promptly_even_while_a_request_hangs():
    sim = ProviderSimulator("isoko", "key", max_hang=30)
    sim.start()
    sim.script(Hang(30))
    provider = AfricasTalkingProvider("isoko", "key", base_url=sim.url, timeout=(1, 10))
    thread = threading.Thread(target=provider.send, args=(PHONE, "hi", None))
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2
    thread.join(timeout=5)
    assert not thread.is_alive()
