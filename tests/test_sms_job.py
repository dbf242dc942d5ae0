"""The SMS job through real RQ workers, on real Redis (db 9) and fakeredis,
against SQLite and PostgreSQL."""
from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta

import fakeredis
import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.worker import SimpleWorker

from gateway.models import Language, Message, MessageStatus, utcnow
from workers import context, queues, runner
from workers.sms import send_sms

PHONE = "+250788000001"


@pytest.fixture
def jobs_db(database):
    """The test's Database, also configured as the one jobs use."""
    context.configure(database.url.render_as_string(hide_password=False))
    yield database
    context.reset()


@pytest.fixture
def restore_signals():
    """RQ's worker installs SIGINT/SIGTERM handlers on the main thread; put
    pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def add_message(db, *, age: timedelta = timedelta(0), status=MessageStatus.QUEUED) -> int:
    with db.session() as s:
        message = Message(
            recipient=PHONE,
            text="Isoko: test",
            language=Language.EN,
            kind="listing_receipt",
            status=status,
            attempts=0,
            segments=1,
            created_at=utcnow() - age,
        )
        s.add(message)
        s.flush()
        return message.id


def load(db, message_id: int) -> Message:
    with db.session() as s:
        return s.get(Message, message_id)


def run_burst(connection) -> None:
    worker = SimpleWorker(list(queues.ALL_QUEUES), connection=connection, serializer=queues.SERIALIZER)
    worker.work(burst=True)


def job_result(connection, message_id: int):
    job = Job.fetch(queues.sms_job_id(message_id), connection=connection, serializer=queues.SERIALIZER)
    return job.get_status(), job.return_value()


# --- through a real worker on real Redis ------------------------------------------------


@pytest.mark.usefixtures("restore_signals")
def test_worker_sends_a_queued_message_to_the_outbox(jobs_db, redis_client):
    message_id = add_message(jobs_db)
    queues.enqueue_sms(redis_client, message_id)
    run_burst(redis_client)
    message = load(jobs_db, message_id)
    assert message.status == MessageStatus.SENT
    assert (message.provider, message.provider_message_id) == ("outbox", f"outbox-{message_id}")
    assert message.attempts == 1
    assert message.sent_at is not None and message.sent_at >= message.created_at
    assert job_result(redis_client, message_id) == (JobStatus.FINISHED, "sent")


def test_enqueue_twice_while_queued_makes_one_job(redis_client):
    queues.enqueue_sms(redis_client, 41)
    queues.enqueue_sms(redis_client, 41)
    queues.enqueue_sms(redis_client, 42)
    sms_queue = queues.queue(redis_client)
    assert sms_queue.job_ids == ["sms-41", "sms-42"]
    job = sms_queue.fetch_job("sms-41")
    assert job.timeout == 30 and job.failure_ttl == 7 * 24 * 3600
    assert job.args == [41] and job.func_name == "workers.sms.send_sms"


@pytest.mark.usefixtures("restore_signals")
def test_running_the_job_twice_sends_once(jobs_db, redis_client, caplog):
    message_id = add_message(jobs_db)
    queues.enqueue_sms(redis_client, message_id)
    run_burst(redis_client)
    # The finished job is replaced by a new one, which finds the row sent.
    queues.enqueue_sms(redis_client, message_id)
    assert queues.queue(redis_client).count == 1
    with caplog.at_level(logging.INFO, logger="workers.sms"):
        run_burst(redis_client)
    assert job_result(redis_client, message_id) == (JobStatus.FINISHED, "skipped")
    message = load(jobs_db, message_id)
    assert message.status == MessageStatus.SENT and message.attempts == 1
    assert "already sent" in caplog.text


@pytest.mark.usefixtures("restore_signals")
def test_an_old_message_is_dropped_not_sent(jobs_db, redis_client):
    message_id = add_message(jobs_db, age=timedelta(hours=1, minutes=1))
    queues.enqueue_sms(redis_client, message_id)
    run_burst(redis_client)
    message = load(jobs_db, message_id)
    assert message.status == MessageStatus.DROPPED
    assert message.error.startswith("expired:") and "limit 3600 s" in message.error
    assert (message.sent_at, message.provider, message.attempts) == (None, None, 0)
    assert job_result(redis_client, message_id) == (JobStatus.FINISHED, "dropped")


# --- the job itself ---------------------------------------------------------------------------


def test_max_age_is_configurable(jobs_db):
    context.configure(
        jobs_db.url.render_as_string(hide_password=False), sms_max_age=timedelta(minutes=5)
    )
    fresh = add_message(jobs_db, age=timedelta(minutes=4))
    stale = add_message(jobs_db, age=timedelta(minutes=6))
    assert send_sms(fresh) == "sent"
    assert send_sms(stale) == "dropped"
    assert "limit 300 s" in load(jobs_db, stale).error


def test_job_acts_only_on_queued_messages(jobs_db):
    failed = add_message(jobs_db, status=MessageStatus.FAILED)
    assert send_sms(failed) == "skipped"
    assert load(jobs_db, failed).status == MessageStatus.FAILED
    assert send_sms(987_654) == "missing"


def test_job_logs_the_recipient_masked(jobs_db, caplog):
    sent = add_message(jobs_db)
    dropped = add_message(jobs_db, age=timedelta(days=1))
    with caplog.at_level(logging.INFO, logger="workers.sms"):
        send_sms(sent)
        send_sms(dropped)
    assert caplog.text.count("+25078*****01") == 2
    assert PHONE not in caplog.text


def test_context_needs_a_url(monkeypatch):
    context.reset()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError):
        context.database()


def test_context_falls_back_to_database_url(monkeypatch, tmp_path):
    context.reset()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    try:
        db = context.database()
        assert db.url.database == str(tmp_path / "env.db")
        assert context.database() is db  # built once
        assert context.sms_max_age() == timedelta(hours=1)
    finally:
        context.reset()


# --- the in-process runner --------------------------------------------------------------------


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(params=["fakeredis", "redis"])
def any_redis(request):
    """The embedded store the web process uses without REDIS_URL, and real Redis."""
    if request.param == "redis":
        yield request.getfixturevalue("redis_client")
        return
    connection = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    yield connection
    connection.close()


def test_inprocess_runner_processes_jobs_and_stops(jobs_db, any_redis):
    stop = threading.Event()
    thread = runner.start_inprocess_worker(any_redis, stop, poll_interval=0.1)
    try:
        assert thread.is_alive() and thread.daemon
        assert thread is not threading.main_thread()
        # A job that fails must not stop the worker: RQ records it as failed.
        queues.queue(any_redis).enqueue_call("math.sqrt", args=(-1,))
        first = add_message(jobs_db)
        queues.enqueue_sms(any_redis, first)
        assert wait_for(lambda: load(jobs_db, first).status == MessageStatus.SENT)
        # Work that arrives later is picked up by a later poll.
        second = add_message(jobs_db)
        queues.enqueue_sms(any_redis, second)
        assert wait_for(lambda: load(jobs_db, second).status == MessageStatus.SENT)
        failed = FailedJobRegistry(queues.SMS_QUEUE, connection=any_redis, serializer=queues.SERIALIZER)
        assert wait_for(lambda: failed.count == 1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    # Stopped means stopped: a job enqueued now stays queued.
    third = add_message(jobs_db)
    queues.enqueue_sms(any_redis, third)
    time.sleep(0.3)
    assert load(jobs_db, third).status == MessageStatus.QUEUED
    assert queues.queue(any_redis).count == 1



def test_inprocess_runner_survives_redis_being_down_and_backs_off(caplog):
    import redis

    unreachable = redis.Redis(host="127.0.0.1", port=1, retry=None)
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="workers.runner"):
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
