"""Whatever the network or a user sends, the callback answers a valid USSD
reply or a 400 for a malformed provider field: never a 5xx, never a page
over the screen."""
from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ussd.helpers import check_reply

PHONES = ["+250788000001", "+250722000002", "0738000003"]
KEYS = ["1", "2", "3", "4", "7", "98", "0", "00", "Jean Bosco", "50kg", "1,000", "3000", "2.5", ""]

typed = st.one_of(st.sampled_from(KEYS), st.text(max_size=30))
phones = st.one_of(st.sampled_from(PHONES), st.text(max_size=20))
session_ids = st.one_of(st.uuids().map(str), st.text(max_size=140))
HYPO = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _check(response) -> None:
    assert response.status_code in (200, 400), response.status_code
    body = response.get_data(as_text=True)
    if response.status_code == 400:
        assert body.startswith("bad request: ")
    else:
        check_reply(body)


@HYPO
@given(session_id=session_ids, phone=phones, text=st.text(max_size=300))
def test_any_single_hop(gateway, session_id, phone, text):
    form = {"sessionId": session_id, "phoneNumber": phone, "serviceCode": "*384*7#",
            "networkCode": "63510", "text": text}
    _check(gateway.http.post("/at/ussd", data=form))


@HYPO
@given(phone=st.sampled_from(PHONES), inputs=st.lists(typed, max_size=14))
def test_any_sequence_of_inputs_in_one_session(gateway, phone, inputs):
    session_id = f"prop-{uuid.uuid4().hex}"
    texts = [""] + ["*".join(inputs[: i + 1]) for i in range(len(inputs))]
    for text in texts:
        response = gateway.http.post("/at/ussd", data={
            "sessionId": session_id, "phoneNumber": phone, "serviceCode": "*384*7#",
            "networkCode": "63514", "text": text})
        _check(response)
        if response.get_data(as_text=True).startswith("END "):
            break
