"""A separate worker process, as `gateway worker` runs it: RQ's forking Worker
with the periodic ticker (`workers.runner.run_worker`), on real Redis, with
the real SDK talking to the simulator."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from gateway.sms.models import MessageStatus
from tests.conftest import TEST_REDIS_URL
from tests.sim import Status
from tests.sim.fixtures import API_KEY, USERNAME, restore_signals, sms, wait_for  # noqa: F401
from gateway.sms import queue as queues

REPO = Path(__file__).resolve().parents[2]

# What `gateway worker` does (gateway/cli.py), with run_worker as its last step.
WORKER = textwrap.dedent("""
    from gateway.core import jobs as context
    from gateway.core import redis_conn
    from gateway.core.settings import Settings
    from gateway.sms import sweep
    from gateway.worker import runner

    settings = Settings.from_env(mode="serve")
    context.configure(settings.database_url, settings=settings)
    connection = redis_conn.connect(settings.redis_url)
    sweep.requeue_queued_sms(context.database(), connection)
    runner.run_worker(connection)
""")


def start_worker(sms, **variables: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AT_", "SMS_"))}
    env.update({"DATABASE_URL": sms.db.url.render_as_string(hide_password=False),
                "REDIS_URL": TEST_REDIS_URL, "AT_USERNAME": USERNAME, "AT_API_KEY": API_KEY,
                "AT_API_URL": sms.sim.url, "AT_SENDER_ID": "ISOKO", "LOG_LEVEL": "WARNING"},
               **variables)
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_worker_process_sends_retries_later_and_stops_cleanly(sms):
    left_over = sms.add(text="Isoko: from before the start")  # queued, never enqueued
    sms.sim.script(Status(500))
    worker = start_worker(sms, SMS_RETRY_BASE_SECONDS="4")
    try:
        # Found by the start-up sweep, first attempt fails; the retry is due
        # 4 s later, well after the drain has ended: the ticker's job brings it back.
        assert wait_for(lambda: sms.load(left_over).attempts == 1, timeout=20)
        assert sms.load(left_over).status == MessageStatus.QUEUED
        assert wait_for(lambda: sms.load(left_over).status == MessageStatus.SENT, timeout=20)
        fresh = sms.queue(text="Isoko: fresh")
        assert wait_for(lambda: sms.load(fresh).status == MessageStatus.SENT, timeout=20)
    finally:
        worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    message = sms.load(left_over)
    assert (message.attempts, message.sender_id) == (2, "ISOKO")
    assert [m.text for m in sms.sim.received()] == ["Isoko: from before the start", "Isoko: fresh"]
    assert sms.redis.zcard(queues.DUE_KEY) == 0
