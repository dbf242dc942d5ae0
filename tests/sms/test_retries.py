"""What a drain does with each kind of provider answer: retries with backoff,
permanent failures, the 405 hold, and rows left `sending` by a dead worker."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from gateway.sms.models import Message, MessageStatus
from gateway.core.models import utcnow
from gateway.sms.providers import SendResult
from tests.sim import Hang, HttpError, Status, WholeFailure
from tests.sim.fixtures import PHONE, restore_signals, sms  # noqa: F401
from gateway.core import jobs as context
from gateway.sms import queue as queues
from gateway.sms import jobs as sms_jobs
from gateway.sms import sweep
from gateway.sms.sender import Claimed


def test_transient_failures_are_retried_and_the_message_arrives_once(sms):
    sms.sim.script(Status(500), HttpError(503), HttpError(429))
    message_id = sms.queue()
    sms.burst()  # retries after 50, 100, 200 ms come due while the drain lingers
    assert [r.answer for r in sms.sim.requests] == ["201-500", "503", "429", "201-101"]
    assert len(sms.sim.received()) == 1
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.SENT, 4)
    assert message.error is None and message.failure_reason is None


def test_a_timeout_is_retried_for_an_at_least_once_kind(sms):
    sms.sim.script(Hang(5))  # longer than the 1 s read timeout of the tests' SDK calls
    message_id = sms.queue(kind="order_new")
    sms.burst()
    assert [r.answer for r in sms.sim.requests] == ["hang", "201-101"]
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)


def test_a_timeout_leaves_an_at_most_once_kind_unknown_not_resent(sms):
    sms.sim.script(Hang(5))
    message_id = sms.queue(kind="listing_receipt")
    sms.burst()
    assert [r.answer for r in sms.sim.requests] == ["hang"]
    message = sms.load(message_id)
    assert (message.status, message.attempts, message.failure_reason) == (
        MessageStatus.UNKNOWN, 1, "timeout")
    assert sms.redis.zscore(queues.DUE_KEY, str(message_id)) is None


def test_backoff_grows_and_gives_up_after_the_last_attempt(sms):
    sms.configure(max_attempts=3, retry_base=0.05)
    sms.sim.numbers[PHONE] = Status(500)
    message_id = sms.queue()
    sms.burst()
    times = [r.at for r in sms.sim.requests]
    assert len(times) == 3  # bounded
    assert times[2] - times[1] > times[1] - times[0] >= 0.05  # exponential: 50 ms, then 100 ms
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 3)
    assert message.error == "gave up after 3 attempts: recipient status 500 InternalServerError"
    assert message.failure_reason == "InternalServerError"
    assert message.next_attempt_at is None
    assert sms.redis.zcard(queues.DUE_KEY) == 0


def test_a_retry_waits_in_sql_and_redis_until_it_is_due(sms):
    sms.configure(retry_base=30, retry_cap=600, linger=0.0)
    sms.sim.script(HttpError(502, "Bad Gateway"))
    message_id = sms.queue()
    before = utcnow()
    sms.burst()
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert message.error == "HTTP 502: Bad Gateway" and message.failure_reason == "http_502"
    wait = (message.next_attempt_at - before).total_seconds()
    assert 29 < wait < 31
    assert sms.redis.zscore(queues.DUE_KEY, str(message_id)) == pytest.approx(
        message.next_attempt_at.timestamp(), abs=0.01)
    queues.enqueue_sms(sms.redis, message_id)  # a sweep or a duplicate enqueue: still waits
    sms.burst()
    assert len(sms.sim.requests) == 1


@pytest.mark.parametrize("behaviour, reason, error", [
    (Status(403), "InvalidPhoneNumber", "recipient status 403 InvalidPhoneNumber"),
    (Status(406), "UserInBlacklist", "recipient status 406 UserInBlacklist"),
    (Status(502), "RejectedByGateway", "recipient status 502 RejectedByGateway"),
    (WholeFailure("InvalidSenderId"), "InvalidSenderId", "request refused: InvalidSenderId"),
    (HttpError(400, "Bad Request"), "http_400", "HTTP 400: Bad Request"),
])
def test_a_permanent_failure_fails_at_once_with_its_reason(sms, behaviour, reason, error):
    sms.sim.script(behaviour)
    message_id = sms.queue()
    sms.burst()
    assert len(sms.sim.requests) == 1  # no retry
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert (message.failure_reason, message.error) == (reason, error)
    assert message.provider == "africastalking" and message.sent_at is None


def test_wrong_credentials_hold_the_message_with_the_providers_answer(sms):
    from gateway.sms.providers.africastalking import AfricasTalkingProvider

    url = sms.db.url.render_as_string(hide_password=False)
    context.configure(url, provider=AfricasTalkingProvider("isoko", "wrong", base_url=sms.sim.url),
                      sms=context.sms())
    message_id = sms.queue()
    sms.burst()
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)  # held, not failed
    assert message.error == "held: credentials refused: HTTP 401: The supplied authentication is invalid"
    assert sms.redis.get(queues.HOLD_KEY) == b"http_401"
    assert sms.sim.received() == []


def test_insufficient_balance_holds_every_message_until_resumed(sms, caplog):
    sms.sim.default = Status(405)
    ids = [sms.queue(phone=f"+25078800000{i}") for i in range(1, 4)]
    with caplog.at_level(logging.WARNING, logger="gateway.sms.jobs"):
        sms.burst()
    holds = [r for r in caplog.records if "ON HOLD" in r.getMessage()]
    assert len(holds) == 1  # one clear warning, not one per message
    assert 55 <= sms.redis.ttl(queues.HOLD_KEY) <= 60
    for message_id in ids:
        message = sms.load(message_id)
        assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)  # not an attempt
        assert message.failure_reason == "InsufficientBalance"
        assert message.error.startswith("held: ")
    requests = len(sms.sim.requests)
    assert requests <= 3
    # While held, nothing is tried: new messages wait too.
    later = sms.queue(phone="+250788000009")
    sms.burst()
    assert len(sms.sim.requests) == requests
    assert sms.load(later).status == MessageStatus.QUEUED
    assert sms.redis.zcard(queues.DUE_KEY) == 4
    # Topped up: `gateway sms resume` ends the hold; everything goes, once.
    sms.sim.default = Status(101)
    assert sms_jobs.release_hold(sms.redis)
    sms.burst()
    assert sorted(m.to for m in sms.sim.received()) == [
        "+250788000001", "+250788000002", "+250788000003", "+250788000009"]
    for message_id in [*ids, later]:
        message = sms.load(message_id)
        assert (message.status, message.attempts, message.error) == (MessageStatus.SENT, 1, None)


def test_the_tick_leaves_a_hold_alone_and_wakes_a_drain_when_work_is_due(sms, monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    assert sms_jobs.tick() == "idle"
    sms.redis.zadd(queues.DUE_KEY, {"5": time.time() - 1})
    assert sms_jobs.tick() == "woke"
    assert sms_jobs.tick() == "busy"  # a drain is pending
    sms.redis.set(queues.HOLD_KEY, "InsufficientBalance", ex=60)
    assert sms_jobs.tick() == "held"


# --- a worker that died in the middle of a send ----------------------------------------------


def claim_one(sms, message_id: int) -> Claimed:
    [claimed] = sms_jobs.sender(sms.redis).claim([message_id]).sendable
    return claimed


def test_a_row_left_sending_is_settled_as_unknown_not_resent(sms, monkeypatch, caplog):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    message_id = sms.queue()
    claim_one(sms, message_id)  # the worker claims it... and dies
    assert sms.load(message_id).status == MessageStatus.SENDING
    assert sweep.sweep()["unknown"] == 0  # its lease is still running
    with sms.db.session() as s:  # five minutes later
        s.execute(update(Message).where(Message.id == message_id)
                  .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    with caplog.at_level(logging.WARNING, logger="gateway.sms.sweep"):
        assert sweep.sweep()["unknown"] == 1
    message = sms.load(message_id)
    # Not failed: it may have been delivered; a report settles it.
    assert (message.status, message.failure_reason) == (MessageStatus.UNKNOWN, "worker_lost")
    assert "not resent" in caplog.text
    sms.burst()
    assert sms.sim.requests == []  # never sent twice on a guess


def test_a_late_result_still_wins_over_unknown_outcome(sms, monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    message_id = sms.queue()
    claimed = claim_one(sms, message_id)
    with sms.db.session() as s:
        s.execute(update(Message).where(Message.id == message_id)
                  .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    sweep.sweep()
    sms_jobs.sender(sms.redis).record([(claimed, SendResult.accepted("ATXid_late", "RWF 10.0000", 101))])
    message = sms.load(message_id)
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "ATXid_late")


def test_a_claimed_row_is_never_claimed_again(sms):
    message_id = sms.queue()
    claim_one(sms, message_id)
    claim = sms_jobs.sender(sms.redis).claim([message_id])
    assert claim.sendable == [] and claim.skipped == {message_id: "sending"}
    # ...and it stays in the due set, looked at again later, not every loop.
    assert sms.redis.zscore(queues.DUE_KEY, str(message_id)) > time.time() + 30


def test_the_sweeper_rebuilds_the_due_set_after_redis_lost_it(sms, monkeypatch):
    monkeypatch.setattr(context, "redis", lambda: sms.redis)
    ids = [sms.add(), sms.add(phone="+250788000002")]
    retry_at = utcnow() + timedelta(minutes=5)
    with sms.db.session() as s:
        s.execute(update(Message).where(Message.id == ids[1]).values(next_attempt_at=retry_at))
    assert sweep.sweep()["requeued"] == 2
    assert sms.redis.zscore(queues.DUE_KEY, str(ids[1])) == pytest.approx(retry_at.timestamp(), abs=0.01)
    sms.burst()
    assert sms.load(ids[0]).status == MessageStatus.SENT
    assert sms.load(ids[1]).status == MessageStatus.QUEUED  # its retry is not due yet
