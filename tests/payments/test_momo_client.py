"""The MoMo adapter against the loopback simulator: every answer is one outcome."""
from __future__ import annotations

import pytest

from gateway.payments.momo import MomoClient, Outcome, classify_status, new_reference
from tests.sim.momo import Failed, Hang, HttpError, MomoSimulator, Pending, TakeThenHang

PHONE = "+250788000002"


@pytest.fixture
def sim():
    with MomoSimulator(max_hang=2.0) as simulator:
        yield simulator


@pytest.fixture
def client(sim):
    return MomoClient(sim.config(), timeout=(1.0, 0.5))


def pay(client, reference, total=1500):
    return client.request_to_pay(reference, phone=PHONE, total=total, external_id="42",
                                 payer_message="Isoko order", payee_note="order 42")


def test_request_to_pay_then_status_successful(sim, client):
    reference = new_reference()
    assert pay(client, reference).outcome == Outcome.ACCEPTED
    answer = client.request_to_pay_status(reference)
    assert answer.outcome == Outcome.SUCCESSFUL and answer.financial_id
    [transaction] = sim.transactions("requesttopay")
    assert (transaction.amount, transaction.party, transaction.currency) == (1500, "250788000002", "RWF")


def test_the_token_is_cached_per_product_and_renewed_after_a_401(sim, client):
    for _ in range(3):
        pay(client, new_reference())
    assert len(sim.tokens_issued) == 1
    sim.expire_tokens()
    assert pay(client, new_reference()).outcome == Outcome.ACCEPTED
    assert len(sim.tokens_issued) == 2
    client.transfer(new_reference(), phone=PHONE, total=100, external_id="1", payer_message="x",
                    payee_note="y")
    assert len(sim.tokens_issued) == 3  # disbursement has its own


def test_a_repeated_reference_is_accepted_and_moves_money_once(sim, client):
    reference = new_reference()
    assert pay(client, reference).outcome == Outcome.ACCEPTED
    again = pay(client, reference)
    assert (again.outcome, again.status_code) == (Outcome.ACCEPTED, 409)
    assert len(sim.transactions()) == 1


@pytest.mark.parametrize("reason", ["APPROVAL_REJECTED", "EXPIRED", "NOT_ENOUGH_FUNDS", "PAYER_NOT_FOUND"])
def test_failed_carries_the_reason(sim, client, reason):
    sim.script_result(Failed(reason))
    reference = new_reference()
    pay(client, reference)
    answer = client.request_to_pay_status(reference)
    assert (answer.outcome, answer.reason) == (Outcome.FAILED, reason)


def test_pending_until_finished(sim, client):
    sim.script_result(Pending())
    reference = new_reference()
    pay(client, reference)
    assert client.request_to_pay_status(reference).outcome == Outcome.PENDING
    sim.finish(reference, Failed("EXPIRED"))
    assert client.request_to_pay_status(reference).reason == "EXPIRED"


def test_unknown_reference_is_not_found(client):
    assert client.request_to_pay_status(new_reference()).outcome == Outcome.NOT_FOUND


@pytest.mark.parametrize("behaviour, outcome, reason", [
    (HttpError(500), Outcome.RETRY, "INTERNAL_PROCESSING_ERROR"),
    (HttpError(503, {"code": "SERVICE_UNAVAILABLE", "message": "x"}), Outcome.RETRY, "SERVICE_UNAVAILABLE"),
    (HttpError(429, {"statusCode": 429}), Outcome.RETRY, "http_429"),
    (HttpError(400, {"code": "PAYER_NOT_FOUND", "message": "x"}), Outcome.REFUSED, "PAYER_NOT_FOUND"),
    (Hang(2.0), Outcome.RETRY, "timeout"),
])
def test_call_failures_follow_the_taxonomy(sim, client, behaviour, outcome, reason):
    sim.script_call(behaviour)
    answer = pay(client, new_reference())
    assert (answer.outcome, answer.reason) == (outcome, reason)
    assert sim.transactions() == []


def test_a_lost_reply_is_retried_with_the_same_reference_safely(sim, client):
    sim.script_call(TakeThenHang(2.0))
    reference = new_reference()
    assert pay(client, reference).outcome == Outcome.RETRY
    assert pay(client, reference).outcome == Outcome.ACCEPTED
    assert len(sim.transactions()) == 1


def test_wrong_credentials_are_refused(sim):
    client = MomoClient(sim.config(api_key="wrong"), timeout=(1.0, 1.0))
    answer = pay(client, new_reference())
    assert (answer.outcome, answer.status_code) == (Outcome.REFUSED, 401)
    assert answer.reason.startswith("token_")


def test_transfer_and_its_status(sim, client):
    reference = new_reference()
    assert client.transfer(reference, phone=PHONE, total=970, external_id="42", payer_message="Isoko",
                           payee_note="order 42").outcome == Outcome.ACCEPTED
    assert client.transfer_status(reference).outcome == Outcome.SUCCESSFUL
    assert client.request_to_pay_status(reference).outcome == Outcome.NOT_FOUND


@pytest.mark.parametrize("body, outcome, reason", [
    ({"status": "SUCCESSFUL", "financialTransactionId": "9"}, Outcome.SUCCESSFUL, None),
    ({"status": "FAILED", "reason": "EXPIRED"}, Outcome.FAILED, "EXPIRED"),
    ({"status": "FAILED", "reason": {"code": "PAYER_NOT_FOUND", "message": "m"}}, Outcome.FAILED,
     "PAYER_NOT_FOUND"),
    ({"status": "PENDING"}, Outcome.PENDING, None),
    ({"status": "WEIRD"}, Outcome.RETRY, "unknown_status_WEIRD"),
    ("not a dict", Outcome.RETRY, "unreadable_reply"),
])
def test_status_bodies(body, outcome, reason):
    answer = classify_status(200, body, "")
    assert (answer.outcome, answer.reason) == (outcome, reason)
