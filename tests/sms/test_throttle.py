"""The per-sender-ID rate limit, shared by every worker through Redis."""
from __future__ import annotations

import time

import redis
from rq.job import Job

from gateway.sms.models import MessageStatus
from tests.conftest import TEST_REDIS_URL
from tests.sim.fixtures import restore_signals, sms  # noqa: F401
from gateway.sms import queue as queues
from gateway.sms.throttle import Throttle


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` inside any half-open window of `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_a_throttle_grants_at_most_its_rate_in_a_second(redis_client):
    throttle = Throttle(redis_client, "ISOKO", 5)
    first = throttle.acquire(8)
    assert first.count == 5 and 0 < first.wait <= 1.0
    assert throttle.acquire(1).count == 0
    # Another sender ID has its own budget.
    assert Throttle(redis_client, "OTHER", 5).acquire(5).count == 5
    # Slots given back (rows that could not be claimed) are free again.
    throttle.release(first, 2)
    assert throttle.acquire(3).count == 2
    time.sleep(first.wait + 0.01)
    assert throttle.acquire(5).count >= 1


def test_two_throttles_on_one_sender_never_exceed_the_rate_together(redis_client):
    other = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        a, b = Throttle(redis_client, "ISOKO", 10), Throttle(other, "ISOKO", 10)
        granted = sum(a.acquire(4).count + b.acquire(4).count for _ in range(3))
        assert granted == 10
    finally:
        other.close()


def test_the_rate_holds_across_two_workers(sms):
    """Two workers drain at once at 10 SMS/s for one sender ID: count what
    the provider received per window (not wall-clock totals). Each worker
    alone could send 7.5/s (3 sends in flight, 0.4 s each), together 15/s:
    both must take part, and only the shared limit keeps them at 10/s."""
    sms.configure(rate_per_second=10, concurrency=3)
    sms.sim.delay = 0.4
    ids = [sms.queue(phone=f"+2507880{i:05d}", text=f"Isoko: {i}") for i in range(35)]
    queues.wake(sms.redis, force=True)  # a second drain job for the second worker
    jobs = list(queues.queue(sms.redis).job_ids)
    assert len(jobs) == 2
    other = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        threads = [sms.thread_burst(), sms.thread_burst(other)]
        for thread in threads:
            thread.join(timeout=30)
    finally:
        other.close()
    received = sms.sim.received()
    assert len(received) == 35 and all(sms.load(i).status == MessageStatus.SENT for i in ids)
    # Both workers sent a share...
    results = [Job.fetch(job_id, connection=sms.redis, serializer=queues.SERIALIZER).return_value()
               for job_id in jobs]
    assert all(result.get("sent", 0) > 0 for result in results), results
    assert sum(result["sent"] for result in results) == 35
    # ...and the provider never saw more than 10 in any 0.9 s (a grant and its
    # arrival differ by a few milliseconds; 0.1 s of slack covers that).
    assert most_in_any_window([m.at for m in received], 0.9) <= 10
    # The limit was reached, not merely respected by going slowly.
    assert most_in_any_window([m.at for m in received], 1.1) >= 10
