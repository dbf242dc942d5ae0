"""The SMS send path through real RQ workers on the tests' Redis, against
SQLite and PostgreSQL, with the real SDK talking to the loopback simulator."""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from datetime import timedelta

import fakeredis
import pytest
import redis
from redis.connection import Connection
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry

from gateway.core import jobs as context
from gateway.core.settings import Settings, SmsConfig
from gateway.sms import jobs as sms_jobs
from gateway.sms import queue as queues
from gateway.sms.jobs import send_sms
from gateway.sms.models import MessageStatus, OptOut
from gateway.worker import periodic, runner
from tests.conftest import TEST_REDIS_URL
from tests.sim import Status
from tests.sim.fixtures import PHONE, SENDER_ID, TEST_SMS, restore_signals, sms, wait_for  # noqa: F401


def due_ids(connection) -> set[int]:
    return {int(x) for x in connection.zrange(queues.DUE_KEY, 0, -1)}


# --- the drain, through a real worker --------------------------------------------------------


def test_a_queued_message_goes_through_the_sdk_once_with_everything_recorded(sms):
    text = "Isoko: " + "a" * 160  # two segments
    message_id = sms.queue(text=text)
    assert due_ids(sms.redis) == {message_id}
    sms.burst()
    [received] = sms.sim.received()
    assert (received.to, received.text, received.sender) == (PHONE, text, SENDER_ID)
    message = sms.load(message_id)
    assert message.status == MessageStatus.SENT
    assert (message.provider, message.provider_message_id) == ("africastalking", received.message_id)
    assert (message.cost, message.sender_id, message.attempts, message.segments) == \
        ("RWF 10.0000", SENDER_ID, 1, 2)
    assert message.sent_at >= message.created_at and message.error is None
    assert message.next_attempt_at is None
    assert due_ids(sms.redis) == set()
    # The form the SDK posted: ours, and no "enqueue" (the gateway queues itself).
    [request] = sms.sim.requests
    assert request.form["username"] == "isoko" and "enqueue" not in request.form


def test_without_provider_credentials_messages_go_to_the_outbox(sms):
    url = sms.db.url.render_as_string(hide_password=False)
    context.configure(url, settings=Settings(database_url=url), sms=TEST_SMS)
    message_id = sms.queue()
    sms.burst()
    message = sms.load(message_id)
    assert message.status == MessageStatus.SENT
    assert (message.provider, message.provider_message_id) == ("outbox", f"outbox-{message_id}")
    assert sms.sim.requests == []  # nothing left the machine


def test_enqueueing_and_running_again_sends_once(sms):
    message_id = sms.queue()
    queues.enqueue_sms(sms.redis, message_id)
    queues.queue(sms.redis).enqueue_call(sms_jobs.drain)  # a spare drain job
    sms.burst()
    queues.enqueue_sms(sms.redis, message_id)  # after it was sent
    sms.burst()
    assert len(sms.sim.received()) == 1 and len(sms.sim.requests) == 1
    message = sms.load(message_id)
    assert (message.status, message.attempts) == (MessageStatus.SENT, 1)


def test_two_workers_at_once_send_every_message_exactly_once(sms):
    sms.sim.delay = 0.02  # keep sends in flight, so the two drains overlap
    ids = [sms.queue(phone=f"+2507880{i:05d}", text=f"Isoko: {i}") for i in range(40)]
    queues.wake(sms.redis, force=True)  # a second drain job
    assert queues.queue(sms.redis).count == 2
    other = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        threads = [sms.thread_burst(), sms.thread_burst(other)]
        for thread in threads:
            thread.join(timeout=30)
    finally:
        other.close()
    texts = [m.text for m in sms.sim.received()]
    assert sorted(texts) == sorted(f"Isoko: {i}" for i in range(40))  # each once
    assert len(sms.sim.requests) == 40
    assert all(sms.load(i).status == MessageStatus.SENT for i in ids)


def test_the_same_message_sent_from_two_threads_at_once_goes_once(sms):
    sms.sim.delay = 0.05
    message_id = sms.add()
    results = []
    barrier = threading.Barrier(2)

    def send():
        connection = redis.Redis.from_url(TEST_REDIS_URL)
        barrier.wait()
        results.append(send_sms(message_id, connection=connection))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == ["sent", "skipped"]
    assert len(sms.sim.received()) == 1


def test_an_old_message_is_dropped_not_sent(sms):
    message_id = sms.queue(age=timedelta(hours=1, minutes=1))
    sms.burst()
    message = sms.load(message_id)
    assert message.status == MessageStatus.DROPPED
    assert message.error.startswith("expired:") and "limit 3600 s" in message.error
    assert message.failure_reason == "expired"
    assert (message.sent_at, message.provider, message.attempts) == (None, None, 0)
    assert sms.sim.requests == [] and due_ids(sms.redis) == set()


def test_max_age_is_configurable(sms):
    url = sms.db.url.render_as_string(hide_password=False)
    context.configure(url, provider=sms.provider, sms=TEST_SMS, sms_max_age=timedelta(minutes=5),
                      settings=Settings(database_url=url))
    fresh = sms.queue(age=timedelta(minutes=4))
    stale = sms.queue(age=timedelta(minutes=6))
    sms.burst()
    assert sms.load(fresh).status == MessageStatus.SENT
    assert sms.load(stale).status == MessageStatus.DROPPED and "limit 300 s" in sms.load(stale).error


def test_an_opted_out_number_gets_nothing_but_its_stop_confirmation(sms):
    with sms.db.session() as s:
        s.add(OptOut(phone=PHONE, keyword="STOP"))
    receipt = sms.queue(kind="listing_receipt")
    confirmation = sms.queue(kind="sms_stop", text="Isoko: no more SMS")
    other = sms.queue(phone="+250788000002")
    sms.burst()
    dropped = sms.load(receipt)
    assert (dropped.status, dropped.failure_reason) == (MessageStatus.DROPPED, "opted_out")
    assert sms.load(confirmation).status == MessageStatus.SENT
    assert sms.load(other).status == MessageStatus.SENT
    assert sorted((m.to, m.text) for m in sms.sim.received()) == [
        (PHONE, "Isoko: no more SMS"), ("+250788000002", "Isoko: test")]


def test_rows_not_queued_or_missing_are_left_alone_and_leave_the_due_set(sms):
    failed = sms.add(status=MessageStatus.FAILED)
    queues.enqueue_sms(sms.redis, failed)
    queues.enqueue_sms(sms.redis, 987_654)
    sms.burst()
    assert sms.load(failed).status == MessageStatus.FAILED
    assert sms.sim.requests == [] and due_ids(sms.redis) == set()


def test_the_job_logs_recipients_masked(sms, caplog):
    sms.queue()
    sms.queue(age=timedelta(days=1))
    with caplog.at_level(logging.INFO, logger="gateway.sms.jobs"):
        sms.burst()
    assert caplog.text.count("+25078*****01") == 2  # one sent, one dropped
    assert PHONE not in caplog.text


def test_the_one_message_job_still_works(sms):
    message_id = sms.add()
    assert queues.enqueue_send_job(sms.redis, message_id)
    assert not queues.enqueue_send_job(sms.redis, message_id)  # pending: not twice
    sms.burst()
    job = Job.fetch(queues.sms_job_id(message_id), connection=sms.redis, serializer=queues.SERIALIZER)
    assert job.return_value() == "sent"
    assert send_sms(message_id, connection=sms.redis) == "skipped"
    assert send_sms(987_654, connection=sms.redis) == "missing"
    assert len(sms.sim.received()) == 1


# --- enqueue_sms on a caller's pipeline ----------------------------------------------------


class CountingConnection(Connection):
    """Counts every command batch sent to Redis (a pipeline is one)."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def test_enqueue_sms_on_a_pipeline_only_adds_commands_to_it(redis_client):
    pool = redis.ConnectionPool.from_url(TEST_REDIS_URL, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    try:
        client.ping()  # connected (the handshake is not what we count)
        pipe = client.pipeline(transaction=False)
        pipe.set("isoko:ussd:s:test", "session")  # the hop's own write
        CountingConnection.sent = 0
        queues.enqueue_sms(client, 41, pipeline=pipe)
        queues.enqueue_sms(client, 42, pipeline=pipe)
        assert CountingConnection.sent == 0  # no read, no round trip of its own
        pipe.execute()
        assert CountingConnection.sent == 1  # everything went in the caller's one round trip
    finally:
        client.close()
        pool.disconnect()
    assert redis_client.get("isoko:ussd:s:test") == b"session"
    assert due_ids(redis_client) == {41, 42}
    jobs = queues.queue(redis_client).jobs
    assert jobs and {job.func for job in jobs} == {sms_jobs.drain}


def test_enqueue_sms_without_a_pipeline_queues_one_drain_for_many_messages(redis_client):
    for message_id in range(1, 51):
        queues.enqueue_sms(redis_client, message_id)
    assert due_ids(redis_client) == set(range(1, 51))
    assert queues.queue(redis_client).count == 1
    job = queues.queue(redis_client).jobs[0]
    assert job.func is sms_jobs.drain and job.timeout == queues.DRAIN_TIMEOUT


def test_a_message_waiting_for_a_retry_keeps_its_due_time_when_enqueued_again(redis_client):
    later = time.time() + 600
    redis_client.zadd(queues.DUE_KEY, {"7": later})
    queues.enqueue_sms(redis_client, 7)
    assert redis_client.zscore(queues.DUE_KEY, "7") == pytest.approx(later)


# --- the worker context -----------------------------------------------------------------------


def test_context_needs_a_url(monkeypatch):
    context.reset()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError):
        context.database()


def test_context_falls_back_to_the_environment(monkeypatch, tmp_path):
    context.reset()
    for name in ("AT_USERNAME", "AT_API_KEY", "AT_API_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("SMS_RATE_PER_SECOND", "35")
    monkeypatch.setenv("SMS_MAX_AGE_SECONDS", "120")
    try:
        db = context.database()
        assert db.url.database == str(tmp_path / "env.db")
        assert context.database() is db  # built once
        assert context.sms().rate_per_second == 35
        assert context.sms_max_age() == timedelta(minutes=2)
        assert sms_jobs.provider().name == "outbox"  # no AT_* variables
    finally:
        context.reset()


def test_a_forked_child_gets_its_own_connection_pool(tmp_path):
    context.configure(f"sqlite:///{tmp_path / 'fork.db'}")
    try:
        db = context.database()
        pool = db.engine.pool
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: same Database object, a fresh pool
            same = context.database() is db and db.engine.pool is not pool
            os.write(write, b"1" if same else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"
        assert db.engine.pool is pool  # the parent's is untouched
    finally:
        context.reset()


@pytest.mark.parametrize("env, problem", [
    ({"SMS_RATE_PER_SECOND": "fast"}, "SMS_RATE_PER_SECOND must be a number"),
    ({"SMS_RATE_PER_SECOND": "0"}, "SMS_RATE_PER_SECOND must be between 1 and 10000"),
    ({"SMS_CONCURRENCY": "1000"}, "SMS_CONCURRENCY must be between 1 and 256"),
    ({"SMS_MAX_AGE_SECONDS": "10"}, "SMS_MAX_AGE_SECONDS must be between 60"),
])
def test_sms_settings_are_checked(env, problem):
    with pytest.raises(ValueError, match=problem):
        SmsConfig.from_env(env)
    assert SmsConfig.from_env({}).rate_per_second == 20


# --- periodic tasks ------------------------------------------------------------------------------


def test_a_periodic_task_is_queued_once_per_interval_across_workers(redis_client):
    tasks = [(60, math.floor), (0.2, math.ceil)]
    assert sorted(periodic.tick(redis_client, tasks)) == ["math.ceil", "math.floor"]
    other = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        assert periodic.tick(other, tasks) == []  # another worker, same tick: nothing
    finally:
        other.close()
    jobs = queues.queue(redis_client, queues.PERIODIC_QUEUE).jobs
    assert sorted(job.func_name for job in jobs) == ["math.ceil", "math.floor"]
    time.sleep(0.25)
    # ceil's interval has passed but its run is still waiting: not queued again.
    assert periodic.tick(redis_client, tasks) == []


def test_periodic_tasks_are_checked():
    assert periodic.tasks([(math.floor, 5)]) == [periodic.Task(5.0, math.floor)]
    assert periodic.Task(5.0, math.floor).path == "math.floor"
    for bad in [(0, math.floor), (5, "math.floor"), (5, periodic.Task.path.fget)]:
        with pytest.raises(ValueError):
            periodic.tasks([bad])


def test_the_registered_periodic_tasks_run_in_a_worker(sms):
    sms.configure(retry_base=0.3, linger=0.0)
    message_id = sms.queue()
    sms.sim.script(Status(500))
    sms.burst()  # attempt 1 fails; the retry is due in 0.3 s, after the drain has ended
    assert sms.load(message_id).status == MessageStatus.QUEUED
    assert sms.sim.received() == []
    time.sleep(0.35)
    assert "gateway.sms.jobs.tick" in periodic.tick(sms.redis)
    sms.burst()  # the tick wakes a drain, which sends it
    assert sms.load(message_id).status == MessageStatus.SENT
    assert len(sms.sim.received()) == 1


# --- the in-process runner (gateway serve) ---------------------------------------------------


@pytest.fixture(params=["fakeredis", "redis"])
def any_redis(request):
    """The embedded store the web process uses without REDIS_URL, and real Redis."""
    if request.param == "redis":
        yield request.getfixturevalue("redis_client")
        return
    connection = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield connection
    connection.close()


def test_inprocess_runner_sends_retries_and_stops(sms, any_redis):
    """On the embedded store too: no Lua anywhere, retries come back through
    the runner's periodic tick, a failing job does not stop the worker."""
    sms.configure(retry_base=0.3, linger=0.0)
    stop = threading.Event()
    thread = runner.start_inprocess_worker(any_redis, stop, poll_interval=0.1)
    try:
        assert thread.is_alive() and thread.daemon and thread is not threading.main_thread()
        queues.queue(any_redis).enqueue_call("math.sqrt", args=(-1,))
        first = sms.add()
        queues.enqueue_sms(any_redis, first)
        assert wait_for(lambda: sms.load(first).status == MessageStatus.SENT)
        sms.sim.script(Status(501))
        second = sms.add(text="Isoko: second")
        queues.enqueue_sms(any_redis, second)
        assert wait_for(lambda: sms.load(second).attempts == 1)
        assert wait_for(lambda: sms.load(second).status == MessageStatus.SENT)
        assert sms.load(second).attempts == 2
        failed = FailedJobRegistry(queues.SMS_QUEUE, connection=any_redis, serializer=queues.SERIALIZER)
        assert wait_for(lambda: failed.count == 1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    third = sms.add(text="Isoko: third")
    queues.enqueue_sms(any_redis, third)
    time.sleep(0.3)
    assert sms.load(third).status == MessageStatus.QUEUED  # stopped means stopped
    assert [m.text for m in sms.sim.received()] == ["Isoko: test", "Isoko: second"]


def test_inprocess_runner_survives_redis_being_down_and_backs_off(caplog):
    unreachable = redis.Redis(host="127.0.0.1", port=1, retry=None)
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="gateway.worker.runner"):
        started = time.monotonic()
        thread = runner.start_inprocess_worker(unreachable, stop, poll_interval=0.05)
        assert time.monotonic() - started < 0.5  # starting never waits for Redis
        time.sleep(1.0)
        assert thread.is_alive()
        stop.set()
        thread.join(timeout=2)
    assert not thread.is_alive()
    failures = [r for r in caplog.records if "burst failed" in r.getMessage()]
    # Doubling from 0.05 s: about 4 attempts in a second, not 20.
    assert 2 <= len(failures) <= 6


def test_run_worker_in_burst_mode_runs_the_periodic_tasks_and_the_queues(sms):
    message_id = sms.queue()
    runner.run_worker(sms.redis, burst=True, worker_class=SimpleWorker, with_scheduler=False)
    assert sms.load(message_id).status == MessageStatus.SENT
    # The burst ticked once: the periodic jobs ran and cleared their pending flags.
    assert sms.redis.exists(periodic.PENDING_KEY.format(path="gateway.sms.sweep.sweep")) == 0
    assert sms.redis.exists(periodic.DUE_KEY.format(path="gateway.sms.sweep.sweep")) == 1
