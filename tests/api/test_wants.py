"""The wants API on both databases: post (idempotent), the matching job it
queues, list (keyset pages, filters, only the key's own), read, close and
fulfil; the matches a later listing adds; and the answers' schema."""
from __future__ import annotations

import time

import pytest
from rq import Queue

from gateway.core import jobs as context
from gateway.market import want_jobs
from gateway.sms.keys import SERIALIZER
from gateway.sms.models import Message
from tests.api.conftest import error_of, listing, new_key, producer

BODY = {"product": "beans", "quantity": 200, "max_price": 900, "district": "huye",
        "phone": "0788 123 456", "language": "fr"}


def post(api, body=None, key="want-1"):
    return api.post("/api/v1/wants", json=BODY if body is None else body,
                    headers={"Idempotency-Key": key} if key else {})


@pytest.fixture
def jobs(gateway, database):
    """Run the wants' and SMS jobs' code in this process, as a worker would."""
    context.configure(database.url.render_as_string(hide_password=False),
                      settings=gateway.services.settings)
    yield
    context.reset()


def test_a_posted_want_is_answered_whole_and_its_matching_is_queued(gateway, api):
    answer = post(api)
    assert answer.status_code == 201, answer.get_json()
    want = answer.get_json()
    assert answer.headers["Location"].endswith(f"/api/v1/wants/{want['id']}")
    assert {k: want[k] for k in ("status", "grade", "quantity", "unit", "max_price", "currency",
                                 "district", "phone", "matches", "closed_at")} == {
        "status": "open", "grade": None, "quantity": 200, "unit": "kg", "max_price": 900,
        "currency": "RWF", "district": "Huye", "phone": "+250788123456", "matches": [],
        "closed_at": None}
    assert want["product"] == {"code": "beans", "name": "Beans"}
    queued = Queue(want_jobs.WANTS_QUEUE, connection=gateway.redis, serializer=SERIALIZER)
    assert queued.job_ids == [f"want-{want['id']}"]


def test_the_same_key_answers_the_same_want_and_a_different_body_is_422(api):
    first, again = post(api), post(api)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    other = post(api, BODY | {"max_price": 901})
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    assert post(api, key=None).status_code == 400


@pytest.mark.parametrize("change, code, field", [
    ({"product": "caviar"}, "invalid_product", "product"),
    ({"district": "Atlantis"}, "invalid_district", "district"),
    ({"product": "parchment_coffee", "grade": "Z"}, "invalid_grade", "grade"),
    ({"valid_until": 1}, "invalid_valid_until", "valid_until"),
    ({"max_price": 0}, "invalid_max_price", "max_price"),
    ({"quantity": "200"}, "invalid_quantity", "quantity"),
    ({"colour": "red"}, "unknown_field", "colour"),
])
def test_a_want_the_rules_refuse_is_a_422_naming_the_field(api, change, code, field):
    answer = post(api, BODY | change)
    assert answer.status_code == 422
    assert (error_of(answer)["code"], error_of(answer)["field"]) == (code, field)


def test_a_later_listing_that_matches_is_recorded_on_the_want_and_texted(gateway, api, jobs):
    want = post(api).get_json()
    with gateway.db.session() as s:
        seller = producer(s)  # in Huye
        dear, cheap = listing(s, seller, "beans", 300, 950), listing(s, seller, "beans", 300, 850)
        ids, codes = (dear.id, cheap.id), (dear.code, cheap.code)
    # the seller, and the buyer the cheapest
    assert want_jobs.match_new_want(want["id"], gateway.redis) == 2
    for listing_id in ids:  # both already paired, or over the price
        assert want_jobs.match_new_listing(listing_id, gateway.redis) == 0
    shown = api.get(f"/api/v1/wants/{want['id']}").get_json()
    assert [m["listing"] for m in shown["matches"]] == [codes[1]]
    assert shown["matches"][0]["unit_price"] == 850 and shown["matches"][0]["district"] == "Huye"
    with gateway.db.session() as s:
        texts = [m.text for m in s.query(Message).filter(Message.recipient == "+250788123456")]
    assert len(texts) == 1 and f"*384*7*{codes[1]}#" in texts[0] and texts[0].startswith(
        "Isoko: pour votre demande")


def test_the_list_is_the_keys_own_newest_first_in_keyset_pages_with_filters(gateway, api):
    other = new_key(gateway, "other platform")
    assert post(other, key="o-1").status_code == 201
    ids = [post(api, BODY | {"quantity": 10 + i}, key=f"k-{i}").get_json()["id"] for i in range(5)]
    post(api, BODY | {"product": "maize", "max_price": 450}, key="maize")
    first = api.get("/api/v1/wants?product=beans&limit=3").get_json()
    assert [w["id"] for w in first["data"]] == ids[::-1][:3]
    rest = api.get(f"/api/v1/wants?product=beans&limit=3&cursor={first['next_cursor']}").get_json()
    assert [w["id"] for w in rest["data"]] == ids[::-1][3:] and rest["next_cursor"] is None
    api.post(f"/api/v1/wants/{ids[0]}/close")
    closed = api.get("/api/v1/wants?status=closed").get_json()["data"]
    assert [w["id"] for w in closed] == [ids[0]]
    assert api.get("/api/v1/wants?cursor=bogus").status_code == 400
    assert api.get("/api/v1/wants?status=lost").status_code == 400


def test_close_and_fulfil_move_an_open_want_once_and_only_the_keys_own(gateway, api):
    one, two = (post(api, key=k).get_json()["id"] for k in ("a", "b"))
    closed = api.post(f"/api/v1/wants/{one}/close")
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert closed.get_json()["closed_at"] is not None
    again = api.post(f"/api/v1/wants/{one}/fulfil")
    assert again.status_code == 409 and error_of(again)["status"] == "closed"
    assert api.post(f"/api/v1/wants/{two}/fulfil").get_json()["status"] == "fulfilled"
    stranger = new_key(gateway, "stranger")
    for path in (f"/api/v1/wants/{two}", f"/api/v1/wants/{two}/close"):
        answer = stranger.get(path) if path.count("/") == 4 else stranger.post(path)
        assert answer.status_code == 404
    assert api.get("/api/v1/wants/abc").status_code == 404


def test_an_expiry_in_the_past_is_refused_and_a_near_one_is_kept(api):
    soon = int(time.time()) + 3600
    answer = post(api, BODY | {"valid_until": soon}, key="soon")
    assert answer.status_code == 201
    assert answer.get_json()["expires_at"].startswith(
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(soon)))
