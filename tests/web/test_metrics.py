"""GET /metrics: hop counters move with real hops; gauges come from SQL and
Redis at scrape time; the exposition parses; one registry per app; the
multiprocess mode adds up several processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq.worker import SimpleWorker

from gateway.core.models import Language
from gateway.sms.models import Message, MessageStatus
from gateway.ussd.hop import SORRY, UssdService
from tests.ussd.helpers import Phone, option, register
from gateway.sms import queue as queues


def scrape(gw) -> dict:
    """Every sample of a scrape as {(name, frozenset(labels)): value}."""
    response = gw.http.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def hops(samples: dict, outcome: str) -> float:
    return value(samples, "isoko_ussd_hops_total", outcome=outcome)


def test_exposition_parses_and_names_every_family(gateway):
    text = gateway.http.get("/metrics").get_data(as_text=True)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"isoko_ussd_hops", "isoko_ussd_hop_duration_seconds", "isoko_ussd_sessions_started",
            "isoko_ussd_sessions_finished", "isoko_sms_messages", "isoko_rq_queue_depth",
            "isoko_rq_failed_jobs", "isoko_metrics_source_up"} <= names
    samples = scrape(gateway)
    for outcome in ("continue", "end", "replay", "error", "bad_request", "forbidden"):
        assert hops(samples, outcome) == 0
    assert value(samples, "isoko_metrics_source_up", source="database") == 1
    assert value(samples, "isoko_metrics_source_up", source="redis") == 1
    # Buckets sized for milliseconds: the first is 1 ms.
    assert ("isoko_ussd_hop_duration_seconds_bucket", frozenset({("le", "0.001")})) in samples


class CountingPhone(Phone):
    """A phone that keeps every reply it got."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.replies: list[str] = []

    def hop(self, answer):
        body = super().hop(answer)
        self.replies.append(body)
        return body


def test_hops_sessions_and_latency_move_with_real_hops(gateway):
    phone = CountingPhone(gateway.http)
    register(phone)  # the first session: registration, ends on the main menu
    body = phone.hop(option(phone.dial(), "Sell"))  # a second session
    body = phone.walk(option(body, "Coffee cherry"), "50", "700", "1")
    assert body.startswith("END Listed!")
    assert phone.post(phone.text).get_data(as_text=True) == body  # the provider retransmits
    answered = len(phone.replies) + 1
    samples = scrape(gateway)
    assert hops(samples, "continue") == len(phone.replies) - 1
    assert hops(samples, "end") == 1
    assert hops(samples, "replay") == 1
    assert value(samples, "isoko_ussd_sessions_started_total") == 2
    assert value(samples, "isoko_ussd_sessions_finished_total") == 1
    assert value(samples, "isoko_ussd_hop_duration_seconds_count") == answered
    assert 0 < value(samples, "isoko_ussd_hop_duration_seconds_sum") < answered * 5
    assert value(samples, "isoko_ussd_hop_duration_seconds_bucket", le="+Inf") == answered
    # The listing receipt's row is counted as queued.
    assert value(samples, "isoko_sms_messages", status="queued") == 1


def test_refused_and_failed_hops_are_counted(gateway_factory, monkeypatch):
    gw = gateway_factory(env={"CALLBACK_TOKEN": "a-long-random-callback-secret"})
    phone = Phone(gw.http, token="a-long-random-callback-secret")
    bad = phone.form("")
    del bad["phoneNumber"]
    assert gw.http.post(f"/at/ussd?token={phone.token}", data=bad).status_code == 400
    assert gw.http.post("/at/ussd", data=phone.form("")).status_code == 403

    def broken(self, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr(UssdService, "_turn", broken)
    assert phone.dial() == "END " + SORRY["rw"]  # a failure inside the hop: a polite END

    def down(self, hop):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(UssdService, "answer", down)
    assert phone.dial().startswith("END ")  # a failure before the hop: the view's END
    samples = scrape(gw)
    assert hops(samples, "bad_request") == 1
    assert hops(samples, "forbidden") == 1
    assert hops(samples, "error") == 2
    assert value(samples, "isoko_ussd_sessions_started_total") == 1
    assert value(samples, "isoko_ussd_sessions_finished_total") == 0


def test_sms_by_status_is_read_from_sql_at_scrape_time(gateway):
    with gateway.db.session() as s:
        for status, count in ((MessageStatus.SENT, 3), (MessageStatus.FAILED, 2),
                              (MessageStatus.QUEUED, 1), (MessageStatus.REVIEW, 1)):
            for _ in range(count):
                s.add(Message(recipient="+250788000001", text="Isoko: test", language=Language.EN,
                              kind="test", status=status))
    samples = scrape(gateway)
    assert {status.value: value(samples, "isoko_sms_messages", status=status.value)
            for status in MessageStatus} == {"queued": 1, "sending": 0, "sent": 3, "failed": 2,
                                             "dropped": 0, "unknown": 0, "review": 1}


@pytest.fixture
def restore_signals():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("restore_signals")
def test_queue_depth_failed_jobs_and_due_sms_come_from_redis(gateway):
    sms_queue = queues.queue(gateway.redis)
    sms_queue.enqueue_call("builtins.int", args=("not a number",), job_id="doomed", failure_ttl=600)
    sms_queue.enqueue_call("builtins.len", args=("fine",), job_id="fine")
    queues.queue(gateway.redis, queues.ALL_QUEUES[-1]).enqueue_call("builtins.len", args=("x",))
    gateway.redis.zadd(queues.DUE_KEY, {"1": time.time() - 5, "2": time.time() + 600})
    samples = scrape(gateway)
    assert value(samples, "isoko_rq_queue_depth", queue=queues.SMS_QUEUE) == 2
    assert value(samples, "isoko_rq_queue_depth", queue=queues.ALL_QUEUES[-1]) == 1
    assert value(samples, "isoko_sms_due", when="now") == 1
    assert value(samples, "isoko_sms_due", when="later") == 1
    # A real worker runs both jobs; one fails into RQ's failed-job registry.
    SimpleWorker([queues.SMS_QUEUE], connection=gateway.redis,
                 serializer=queues.SERIALIZER).work(burst=True)
    samples = scrape(gateway)
    assert value(samples, "isoko_rq_queue_depth", queue=queues.SMS_QUEUE) == 0
    assert value(samples, "isoko_rq_failed_jobs", queue=queues.SMS_QUEUE) == 1


def test_each_app_has_its_own_registry(gateway_factory):
    first, second = gateway_factory(), gateway_factory()
    Phone(first.http, session="one").dial()
    assert hops(scrape(first), "continue") == 1
    assert hops(scrape(second), "continue") == 0


def test_a_scrape_survives_redis_being_down(gateway_factory):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    gw = gateway_factory(redis_client=dead)
    samples = scrape(gw)
    assert value(samples, "isoko_metrics_source_up", source="redis") == 0
    assert value(samples, "isoko_metrics_source_up", source="database") == 1
    assert ("isoko_rq_queue_depth", frozenset({("queue", queues.SMS_QUEUE)})) not in samples
    dead.close()


_CHILD = textwrap.dedent("""
    import json, sys, time
    from gateway.web.metrics import GatewayMetrics
    from prometheus_client.parser import text_string_to_metric_families
    mode, directory = sys.argv[1], sys.argv[2]
    metrics = GatewayMetrics(None, None, multiprocess_dir=directory)  # no SQL nor Redis here
    if mode == "hop":
        metrics.observe("applied", time.perf_counter(), "CON Isoko", first=True)
        metrics.observe("replay", time.perf_counter())
    else:
        found = {}
        for family in text_string_to_metric_families(metrics.exposition().decode()):
            for sample in family.samples:
                found[sample.name + json.dumps(sample.labels, sort_keys=True)] = sample.value
        print(json.dumps(found))
""")


def test_multiprocess_mode_adds_up_every_process(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR (gunicorn's workers), a scrape in any
    process sees the hops of all of them."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}

    def child(mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", _CHILD, mode, str(directory)], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    child("hop")
    child("hop")
    found = json.loads(child("scrape"))
    assert found['isoko_ussd_hops_total{"outcome": "continue"}'] == 2
    assert found['isoko_ussd_hops_total{"outcome": "replay"}'] == 2
    assert found["isoko_ussd_sessions_started_total{}"] == 2
    assert found["isoko_ussd_hop_duration_seconds_count{}"] == 4
    assert found['isoko_metrics_source_up{"source": "database"}'] == 0
