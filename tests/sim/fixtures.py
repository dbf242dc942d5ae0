"""Pytest fixtures and helpers shared by the SMS tests (`tests/sms/`, `tests/worker/`).

Import the fixtures by name in a test module:

    from tests.sim.fixtures import restore_signals, sms  # noqa: F401

`sms` gives a migrated database (SQLite and PostgreSQL, via `database`), the
tests' Redis database, a running provider simulator and the worker context
pointed at them: the real SDK talks to the simulator only.
"""
from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from rq.worker import SimpleWorker

from gateway.core.models import Language, utcnow
from gateway.sms.models import Message, MessageStatus
from gateway.sms.providers.africastalking import AfricasTalkingProvider
from gateway.core.settings import Settings
from tests.sim.server import ProviderSimulator
from gateway.core import jobs as context
from gateway.sms import queue as queues
from gateway.worker import runner
from gateway.core.settings import SmsConfig

PHONE = "+250788000001"
API_KEY = "sim-api-key"
USERNAME = "isoko"
SENDER_ID = "ISOKO"

# Fast and deterministic: no jitter, retries after 50 ms, short lingering.
TEST_SMS = SmsConfig(rate_per_second=1000, concurrency=8, max_attempts=5, retry_base=0.05,
                     retry_cap=1.0, retry_jitter=0.0, hold_seconds=60, budget=20, linger=0.2,
                     lease=300, provider_timeout=(1.0, 1.0))


@dataclass
class SmsEnv:
    db: object
    redis: object
    sim: ProviderSimulator
    provider: AfricasTalkingProvider

    def configure(self, **changes) -> None:
        """Reconfigure the worker context with some SmsConfig fields changed."""
        configure(self, replace(TEST_SMS, **changes))

    def add(self, *, phone: str = PHONE, text: str = "Isoko: test", kind: str = "listing_receipt",
            age: timedelta = timedelta(0), status: MessageStatus = MessageStatus.QUEUED) -> int:
        with self.db.session() as s:
            message = Message(recipient=phone, text=text, language=Language.EN, kind=kind,
                              status=status, attempts=0, segments=1, created_at=utcnow() - age)
            s.add(message)
            s.flush()
            return message.id

    def queue(self, **kwargs) -> int:
        """Add a message and enqueue it."""
        message_id = self.add(**kwargs)
        queues.enqueue_sms(self.redis, message_id)
        return message_id

    def load(self, message_id: int) -> Message:
        with self.db.session() as s:
            return s.get(Message, message_id)

    def burst(self) -> None:
        """A real RQ worker (no fork) drains every queue once."""
        SimpleWorker(list(queues.ALL_QUEUES), connection=self.redis,
                     serializer=queues.SERIALIZER).work(burst=True)

    def thread_burst(self, connection=None) -> threading.Thread:
        """A burst of the in-process ThreadWorker in a thread (for concurrency tests)."""
        worker = runner.make_worker(connection or self.redis)
        thread = threading.Thread(target=worker.work, kwargs={"burst": True, "logging_level": None})
        thread.start()
        return thread


def configure(env: SmsEnv, config: SmsConfig) -> None:
    url = env.db.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, at_username=USERNAME, at_api_key=API_KEY,
                        at_sender_id=SENDER_ID, at_api_url=env.sim.url)
    context.configure(url, settings=settings, provider=env.provider, sms=config)


@pytest.fixture
def restore_signals():
    """RQ's worker installs SIGINT/SIGTERM handlers on the main thread; put
    pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def sms(database, redis_client, restore_signals):
    with ProviderSimulator(USERNAME, API_KEY) as sim:
        provider = AfricasTalkingProvider(USERNAME, API_KEY, base_url=sim.url,
                                          timeout=TEST_SMS.provider_timeout)
        env = SmsEnv(database, redis_client, sim, provider)
        configure(env, TEST_SMS)
        try:
            yield env
        finally:
            context.reset()


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False
