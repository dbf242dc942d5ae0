"""The wants' jobs on real Redis and SQL (each backend): the worker serves
their queue, the periodic tick expires wants and queues the matching of a
want whose job was lost, and a matching job run twice sends nothing twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select

from gateway.core import jobs as context
from gateway.core.models import utcnow
from gateway.market import want_jobs, wants
from gateway.market.want_models import Want, WantStatus
from gateway.sms.keys import SERIALIZER
from gateway.sms.models import Message
from gateway.worker import periodic, runner
from tests.market.test_wants import BUYER, SELLER, listing, person, want


@pytest.fixture
def worker(gateway, database):
    context.configure(database.url.render_as_string(hide_password=False),
                      settings=gateway.services.settings)
    yield runner.make_worker(gateway.redis)
    context.reset()


def _queued(gateway) -> list[str]:
    return Queue(want_jobs.WANTS_QUEUE, connection=gateway.redis, serializer=SERIALIZER).job_ids


def test_the_worker_serves_the_wants_queue_and_the_tick_is_periodic():
    assert want_jobs.WANTS_QUEUE in runner.ALL_QUEUES
    assert want_jobs.tick in [function for _, function in periodic.PERIODIC]


def test_the_tick_expires_wants_past_their_date_and_requeues_a_lost_match(gateway, worker):
    with gateway.db.session() as s:
        buyer = person(s, BUYER)
        old, lost, fresh = want(s, buyer), want(s, buyer), want(s, buyer)
        old.expires_at = utcnow() - timedelta(seconds=1)
        lost.created_at = utcnow() - timedelta(minutes=2)  # its job never ran
        lost_id, fresh_id, old_id = lost.id, fresh.id, old.id
    assert want_jobs.tick(gateway.redis) == 1
    assert _queued(gateway) == [f"want-{lost_id}"]
    assert want_jobs.tick(gateway.redis) == 0  # still pending: not queued twice
    worker.work(burst=True)
    with gateway.db.session() as s:
        assert s.get(Want, old_id).status == WantStatus.EXPIRED
        assert s.get(Want, lost_id).matched_at is not None
        assert s.get(Want, fresh_id).matched_at is None  # its own job has a minute to run


def test_a_matching_job_run_twice_sends_one_sms_per_pair(gateway, worker):
    with gateway.db.session() as s:
        buyer, seller = person(s, BUYER), person(s, SELLER)
        wanted = want(s, buyer, 900, "Huye")
        on_sale = listing(s, seller, 850)
        ids = (wanted.id, on_sale.id)
    assert want_jobs.match_new_listing(ids[1], gateway.redis) == 1
    assert want_jobs.match_new_listing(ids[1], gateway.redis) == 0
    assert want_jobs.match_new_want(ids[0], gateway.redis) == 0  # the pair exists already
    with gateway.db.session() as s:
        kinds = list(s.scalars(select(Message.kind).where(Message.kind.like("want_%"))))
        assert kinds == ["want_match"]
        wants.close_want(s, s.get(Want, ids[0]), fulfilled=True)
    assert want_jobs.match_new_want(ids[0], gateway.redis) == 0  # closed: nothing


def test_a_listing_made_by_ussd_queues_its_matching_on_the_hops_write(gateway, worker):
    from tests.ussd.helpers import Phone, option, register

    with gateway.db.session() as s:
        want(s, person(s, BUYER), 900, None)
    seller = Phone(gateway.http, SELLER, session="sell")
    register(seller, name="Seller", district="Huye")
    body = seller.hop(option(seller.dial(), "Sell"))
    assert seller.walk(option(body, "Beans"), "100", "850", "1").startswith("END Listed!")
    (job_id,) = _queued(gateway)
    assert job_id.startswith("want-listing-")
    with gateway.db.session() as s:  # nothing matched inside the hop
        assert s.scalar(select(func.count()).select_from(Message).where(Message.kind == "want_match")) == 0
    worker.work(burst=True)
    with gateway.db.session() as s:
        (text,) = s.scalars(select(Message.text).where(Message.kind == "want_match"))
    assert text.startswith("Isoko: for your request: Beans, 100 kg at 850 RWF/kg, Huye.")
