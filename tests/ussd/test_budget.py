"""`BoundedHops`: the reply within the budget whatever the hop does, in the
language the hop found, and nothing committed by a hop past its deadline."""
from __future__ import annotations

import threading
import time

import pytest

from gateway.ussd import budget
from gateway.ussd.hop import Hop

HOP = Hop("ATUid_b", "+250788000001", "63510", "*384*7#", "")


class SlowService:
    """Stands in for UssdService: learns the language, then (as the real one
    does before SQL) offloads to a pool thread, takes `seconds`, then
    reaches the commit point (`budget.check`)."""

    def __init__(self, seconds: float, lang: str = "fr"):
        self.seconds, self.lang = seconds, lang
        self.committed, self.refused, self.observed = threading.Event(), threading.Event(), []

    def observe(self, outcome, started, reply=None, first=False):
        self.observed.append(outcome)

    def answer(self, hop):
        budget.note_language(self.lang)
        budget.offload()
        self.thread = threading.current_thread()
        time.sleep(self.seconds)
        try:
            budget.check()
        except budget.BudgetExceeded:
            self.refused.set()
            raise
        self.committed.set()
        return "CON ok"


def test_a_fast_hop_is_answered_as_it_is():
    service = SlowService(0.01)
    assert budget.BoundedHops(service, 1).answer(HOP) == "CON ok"
    assert service.committed.is_set()


def test_a_slow_hop_gets_the_timed_out_end_within_the_budget_and_commits_nothing():
    service = SlowService(1.5, lang="fr")
    bounded = budget.BoundedHops(service, 1)
    started = time.monotonic()
    reply = bounded.answer(HOP)
    assert time.monotonic() - started <= 1.0
    assert reply == "END " + budget.TIMED_OUT["fr"] and service.observed == ["timeout"]
    assert service.refused.wait(3) and not service.committed.is_set()


def test_a_hop_queued_past_its_deadline_does_no_work():
    service = SlowService(1.2)
    bounded = budget.BoundedHops(service, 1, threads=1)
    assert bounded.answer(HOP).startswith("END ")  # holds the one thread
    assert bounded.answer(HOP).startswith("END ")  # waited in the queue: past its deadline
    time.sleep(1.6)
    assert service.refused.is_set() and not service.committed.is_set()


def test_the_hops_errors_reach_the_caller():
    class Broken(SlowService):
        def answer(self, hop):
            raise RuntimeError("redis down")
    with pytest.raises(RuntimeError):
        budget.BoundedHops(Broken(0), 1).answer(HOP)


def test_a_hop_that_never_blocks_is_answered_on_the_callers_thread():
    class Quick:
        def answer(self, hop):
            budget.check()
            return f"CON {threading.current_thread().name}"
    assert budget.BoundedHops(Quick(), 1).answer(HOP) == f"CON {threading.current_thread().name}"


def test_an_offloaded_hop_resumes_on_a_pool_thread_with_the_same_deadline():
    service = SlowService(0.01)
    assert budget.BoundedHops(service, 1).answer(HOP) == "CON ok"
    assert service.thread is not threading.current_thread()
    assert service.thread.name.startswith("isoko-hop")


def test_a_hop_offloaded_late_has_only_what_is_left_of_its_budget():
    class LateSlow(SlowService):
        def answer(self, hop):
            time.sleep(0.6)  # a slow Redis round trip, on the caller's thread
            return super().answer(hop)
    started = time.monotonic()
    reply = budget.BoundedHops(LateSlow(0.6, lang="en"), 1).answer(HOP)
    assert reply == "END " + budget.TIMED_OUT["en"]
    assert time.monotonic() - started <= 1.0


def test_where_a_redis_round_trip_could_outlast_the_budget_every_hop_runs_on_the_pool():
    class Quick:
        def answer(self, hop):
            return f"CON {threading.current_thread().name}"
    assert budget.BoundedHops(Quick(), 1, round_trip_worst=0.9).answer(HOP).startswith("CON isoko-hop")
    assert budget.BoundedHops(Quick(), 1, round_trip_worst=0.5).answer(HOP) == (
        f"CON {threading.current_thread().name}")


def test_a_hop_late_for_its_second_round_trip_finishes_on_the_pool():
    class LateQuick:
        runs = []

        def answer(self, hop):
            if threading.current_thread() is threading.main_thread():
                time.sleep(0.3)  # a slow first round trip
            budget.offload_if_late()
            self.runs.append(threading.current_thread().name)
            return "CON ok"
    service = LateQuick()
    assert budget.BoundedHops(service, 1, round_trip_worst=0.5).answer(HOP) == "CON ok"
    assert len(service.runs) == 1 and service.runs[0].startswith("isoko-hop")


def test_outside_a_bounded_hop_check_does_nothing():
    budget.offload()
    budget.offload_if_late()
    budget.check()
    budget.note_language("en")
