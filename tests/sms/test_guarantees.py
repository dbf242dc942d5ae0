"""Messages: none lost, duplicates only where stated. Each test counts what
the loopback provider took, per message, through a real SDK and real RQ
drains on the tests' Redis and both SQL backends:

- a key rotated at the provider mid-batch (401): the queue holds; once the
  key is right again every message is taken exactly once;
- a long outage (5xx): the circuit opens, attempts are kept, and after
  recovery every message is taken exactly once;
- an answer after the read timeout: an at-most-once kind stays `unknown`
  (taken once, never resent) until a delivery report settles it; an
  at-least-once kind is resent (taken twice: the one stated duplicate);
- a worker lost mid-send: a report settles the row, `review` only without one.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from gateway.core import jobs as context
from gateway.core.models import utcnow
from gateway.sms import jobs as sms_jobs
from gateway.sms import queue as queues
from gateway.sms import sweep
from gateway.sms.keys import CIRCUIT_OPEN_KEY, CIRCUIT_TRIPPED_KEY
from gateway.sms.models import Message, MessageStatus
from gateway.sms.providers.africastalking import AfricasTalkingProvider
from gateway.sms.reports import BIND_GRACE
from tests.sim import HttpError, Late, ProviderSimulator, Status
from tests.sim.fixtures import API_KEY, PHONE, TEST_SMS, USERNAME, restore_signals, sms, wait_for  # noqa: F401

DELIVERY = "/at/sms/delivery"


def queue_batch(sms, n: int, kind: str = "listing_receipt") -> dict[int, str]:
    """n messages with distinct texts (to count them at the provider): id -> text."""
    ids = {}
    for i in range(n):
        text = f"Isoko: batch message {i}"
        ids[sms.queue(phone=f"+2507880{i:05d}", text=text, kind=kind)] = text
    return ids


def taken(sms) -> Counter[str]:
    """How many times the provider took each text."""
    return Counter(m.text for m in sms.sim.received())


def assert_each_sent_once(sms, ids: dict[int, str]) -> None:
    counts = taken(sms)
    assert {text: counts[text] for text in ids.values()} == {text: 1 for text in ids.values()}
    for message_id in ids:
        assert sms.load(message_id).status == MessageStatus.SENT


def use_key(sms, key: str) -> None:
    """The gateway's configured key (a worker restarted with new settings)."""
    url = sms.db.url.render_as_string(hide_password=False)
    provider = AfricasTalkingProvider(USERNAME, key, base_url=sms.sim.url,
                                      timeout=TEST_SMS.provider_timeout)
    context.configure(url, provider=provider, sms=context.sms())


def rotate_at(sim: ProviderSimulator, after: int, new_key: str) -> threading.Thread:
    """Revoke the key at the provider once `after` messages were taken."""
    def watch() -> None:
        wait_for(lambda: len(sim.received()) >= after, timeout=10)
        sim.api_key = new_key
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


# --- credentials ---------------------------------------------------------------------------------


def test_a_key_rotated_mid_batch_holds_and_every_message_goes_once_with_the_new_key(sms):
    sms.configure(concurrency=4)
    sms.sim.delay = 0.01
    ids = queue_batch(sms, 30)
    rotate_at(sms.sim, 8, "rotated-key")
    sms.burst()
    refused = [r for r in sms.sim.requests if r.answer == "401"]
    assert refused, "the rotation happened mid-batch"
    assert 8 <= len(sms.sim.received()) < 30
    statuses = Counter(sms.load(i).status for i in ids)
    assert MessageStatus.FAILED not in statuses  # held, not failed
    assert statuses[MessageStatus.QUEUED] == 30 - len(sms.sim.received())
    assert sms.redis.get(queues.HOLD_KEY) == b"http_401"
    # The operator deploys the new key and restarts the workers: the start
    # clears the credential hold and drains at once.
    use_key(sms, "rotated-key")
    assert sweep.restart(sms.db, sms.redis) == statuses[MessageStatus.QUEUED]
    assert sms.redis.get(queues.HOLD_KEY) is None
    sms.burst()
    assert_each_sent_once(sms, ids)
    assert all(sms.load(i).attempts == 1 for i in ids)  # a 401 is not an attempt
    print(f"\nkey rotation: 30 messages, {len(refused)} requests refused 401, "
          f"{len(sms.sim.received())} taken, lost 0, duplicated 0")


def test_after_a_provider_side_fix_the_next_attempt_succeeds_when_the_hold_ends(sms, monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    # A hold long enough that a loaded machine's burst ends inside it (1 s did not).
    sms.configure(concurrency=4, hold_seconds=4)
    ids = queue_batch(sms, 12)
    rotate_at(sms.sim, 4, "revoked")
    sms.burst()
    assert sms.sim.requests[-1].answer == "401" and len(sms.sim.received()) < 12
    sms.sim.api_key = API_KEY  # the key is valid again at the provider
    assert sms_jobs.tick() == "held"
    assert wait_for(lambda: sms.redis.get(queues.HOLD_KEY) is None, timeout=8)
    assert sms_jobs.tick() == "woke"
    sms.burst()
    assert_each_sent_once(sms, ids)


def test_a_worker_start_keeps_a_balance_hold(sms):
    sms.redis.set(queues.HOLD_KEY, "InsufficientBalance", ex=60)
    sweep.restart(sms.db, sms.redis)
    assert sms.redis.get(queues.HOLD_KEY) == b"InsufficientBalance"  # only a top-up ends it


# --- a long outage: the circuit ---------------------------------------------------------------------


def test_a_long_outage_opens_the_circuit_keeps_the_attempts_and_each_goes_once_after(sms, monkeypatch,
                                                                                        caplog):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    sms.configure(concurrency=4, max_attempts=3, retry_base=0.02, circuit_failures=4,
                  circuit_open=0.3)
    sms.sim.default = HttpError(503, "Service Unavailable")
    ids = queue_batch(sms, 20)
    outage_ends = time.monotonic() + 2.0  # seven pauses of 0.3 s: far past 3 attempts each
    with caplog.at_level(logging.WARNING, logger="gateway.sms.jobs"):
        for _ in range(100):  # bounded
            if time.monotonic() >= outage_ends:
                break
            sms_jobs.tick()
            sms.burst()
            time.sleep(0.05)
    assert sum("circuit OPEN" in r.getMessage() for r in caplog.records) == 1
    during = len(sms.sim.requests)
    # Without the circuit: 20 messages x 3 attempts = 60 requests and all failed.
    assert during <= 4 + 4 + 8, during  # the threshold, sends in flight, one probe per pause
    assert sms.redis.exists(CIRCUIT_TRIPPED_KEY)
    for message_id in ids:
        message = sms.load(message_id)
        assert message.status == MessageStatus.QUEUED
        assert message.attempts <= 1  # at most the failure before the circuit opened
    # The provider is back: the next probe closes the circuit, everything goes.
    sms.sim.default = Status(101)
    assert wait_for(lambda: not sms.redis.exists(CIRCUIT_OPEN_KEY), timeout=1)
    assert sms_jobs.tick() in ("woke", "busy")
    sms.burst()
    assert not sms.redis.exists(CIRCUIT_TRIPPED_KEY)
    assert_each_sent_once(sms, ids)
    assert all(sms.load(i).attempts <= 2 for i in ids)
    print(f"\noutage: 20 messages, {during} requests during 2 s of 503 (60 without the circuit), "
          f"{len(sms.sim.received())} taken after, lost 0, duplicated 0")


def test_while_the_circuit_is_half_open_only_one_probe_goes(sms):
    sms.sim.default = HttpError(500, "down")
    sms.redis.set(CIRCUIT_TRIPPED_KEY, "1")  # tripped, pause over: half-open
    ids = queue_batch(sms, 5)
    sms.burst()
    assert len(sms.sim.requests) == 1  # the probe, failed: open again
    assert sms.redis.exists(CIRCUIT_OPEN_KEY)
    assert [sms.load(i).attempts for i in ids] == [0] * 5  # a failed probe is not an attempt


def test_isolated_transient_failures_do_not_open_the_circuit(sms):
    sms.sim.script(HttpError(503), Status(101), HttpError(503), Status(101))
    sms.configure(circuit_failures=2, concurrency=1)
    ids = queue_batch(sms, 3)
    sms.burst()
    assert not sms.redis.exists(CIRCUIT_TRIPPED_KEY)  # each failure was followed by a success
    assert_each_sent_once(sms, ids)


# --- answers after the read timeout -----------------------------------------------------------------


def report(app, sms, message_id: str, phone: str, status: str = "Success"):
    reply = app.post(DELIVERY, data=ProviderSimulator.report_form(message_id, status, phone=phone))
    assert reply.status_code == 200


def test_a_late_answer_leaves_an_at_most_once_message_unknown_until_its_report(sms, gateway):
    sms.sim.script(Late(3))  # taken, answered after the 1 s read timeout
    message_id = sms.queue(kind="listing_receipt")
    sms.burst()
    assert len(sms.sim.received()) == 1
    message = sms.load(message_id)
    assert (message.status, message.failure_reason, message.provider_message_id) == (
        MessageStatus.UNKNOWN, "timeout", None)
    sms.burst()
    sms.burst()
    assert len(sms.sim.received()) == 1  # never resent: duplicates 0
    [took] = sms.sim.received()
    report(gateway.http, sms, took.message_id, PHONE)
    message = sms.load(message_id)
    assert (message.status, message.provider_message_id, message.delivery_status) == (
        MessageStatus.SENT, took.message_id, "Success")
    assert message.delivered_at is not None


@pytest.mark.parametrize("kind", ["order_new", "order_accepted", "delivery_code"])
def test_a_late_answer_resends_an_at_least_once_message_once(sms, kind):
    sms.sim.script(Late(3))
    message_id = sms.queue(kind=kind)
    sms.burst()
    assert len(sms.sim.received()) == 2  # the stated duplicate: taken twice, never lost
    assert [r.answer for r in sms.sim.requests] == ["late", "201-101"]
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
    assert message.provider_message_id == sms.sim.received()[1].message_id


def test_a_report_waits_while_a_send_to_the_same_number_is_in_flight(sms, gateway, monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    sms.sim.script(Late(3))
    unknown_id = sms.queue(kind="listing_receipt")
    sms.burst()
    [took] = sms.sim.received()
    in_flight = sms.queue(kind="listing_receipt")
    sms_jobs.sender(sms.redis).claim([in_flight])  # being sent right now
    report(gateway.http, sms, took.message_id, PHONE)
    # Not bound at arrival: the report might be the in-flight one's.
    assert sms.load(unknown_id).status == MessageStatus.UNKNOWN
    with sms.db.session() as s:
        s.execute(update(Message).where(Message.id == in_flight).values(status=MessageStatus.SENT,
                                                                       provider_message_id="ATXid_other"))
    # Later, the sweeper binds it (past the grace, the in-flight send has been recorded).
    monkeypatch.setattr("gateway.sms.reports.utcnow", lambda: utcnow() + BIND_GRACE * 2)
    sweep.sweep()
    message = sms.load(unknown_id)
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, took.message_id)


# --- a worker lost mid-send ---------------------------------------------------------------------------


def lease_runs_out(sms, message_id: int) -> None:
    with sms.db.session() as s:
        s.execute(update(Message).where(Message.id == message_id)
                  .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_a_report_that_came_while_the_row_was_sending_settles_it_after_the_lease(sms, gateway,
                                                                                 monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    message_id = sms.queue()
    [claimed] = sms_jobs.sender(sms.redis).claim([message_id]).sendable
    sms_jobs.sender(sms.redis).send(claimed)  # the provider takes it... and the worker dies
    [took] = sms.sim.received()
    report(gateway.http, sms, took.message_id, PHONE)  # stored; the row is still `sending`
    assert sms.load(message_id).status == MessageStatus.SENDING
    lease_runs_out(sms, message_id)
    monkeypatch.setattr("gateway.sms.reports.utcnow", lambda: utcnow() + BIND_GRACE * 2)
    result = sweep.sweep()
    assert result["unknown"] == 1 and result["review"] == 0
    message = sms.load(message_id)
    # Delivered, so never marked failed (it was, 5.7 min after a crash, before).
    assert (message.status, message.delivery_status, message.provider_message_id) == (
        MessageStatus.SENT, "Success", took.message_id)
    sms.burst()
    assert len(sms.sim.received()) == 1


def test_without_a_report_an_unknown_row_goes_to_review_after_the_wait(sms, monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    sms.configure(unknown_wait=0.2)
    message_id = sms.queue()
    sms_jobs.sender(sms.redis).claim([message_id])  # claimed; the worker dies before sending
    lease_runs_out(sms, message_id)
    assert sweep.sweep()["unknown"] == 1
    assert sms.load(message_id).status == MessageStatus.UNKNOWN
    time.sleep(0.3)
    assert sweep.sweep()["review"] == 1
    message = sms.load(message_id)
    assert message.status == MessageStatus.REVIEW
    assert sms.sim.requests == []  # nothing sent on a guess
