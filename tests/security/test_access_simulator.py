"""The simulator acts as any phone: outside a local `serve`, dialling needs an
editor, each hop is audited under the operator's name, and a viewer's inbox
hides every phone number. Real operators, real log-ins, real Redis and SQL."""
from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from gateway.operators import accounts as operators
from gateway.operators.models import AuditEntry, Role
from tests.ussd.helpers import Phone, check_reply, option, register

TOKEN = "a-long-random-callback-secret"
PASSWORD = "correct horse battery"
SELLER = "+250788000001"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGE_CSRF = re.compile(r'data-csrf-token="([^"]+)"')


@pytest.fixture
def access_gw(gateway_factory):
    """A gateway that is not local (a CALLBACK_TOKEN), with a viewer and an editor."""
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    with gw.db.session() as s:
        operators.create(s, "vera", PASSWORD, Role.VIEWER, actor="test")
        operators.create(s, "eddie", PASSWORD, Role.EDITOR, actor="test")
    return gw


def logged_in(gw, username: str):
    """A fresh client of the gateway's app, logged in as `username`, and the
    simulator page's CSRF token."""
    from gateway.web.app import create_app

    client = create_app(services=gw.services).test_client()
    token = CSRF.search(client.get("/admin/login").get_data(as_text=True)).group(1)
    response = client.post("/admin/login", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/simulator")
    assert page.status_code == 200
    return client, PAGE_CSRF.search(page.get_data(as_text=True)).group(1)


def simulated(client, csrf: str, number: str = SELLER, session: str = "sim") -> Phone:
    phone = Phone(client, number, session=session)
    phone.post = lambda text: client.post("/simulator/ussd", data=phone.form(text),
                                          headers={"X-CSRFToken": csrf})
    return phone


def hop_audit(gw) -> list[AuditEntry]:
    with gw.db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "simulator_hop")
                              .order_by(AuditEntry.id)))


def test_a_viewer_cannot_act_as_a_phone(access_gw):
    client, csrf = logged_in(access_gw, "vera")
    response = simulated(client, csrf).post("")
    assert response.status_code == 403
    assert hop_audit(access_gw) == []
    # Nor dial the draft (the draft switch rides on the same route).
    form = {**Phone(client).form(""), "isokoDraft": "1"}
    assert client.post("/simulator/ussd", data=form, headers={"X-CSRFToken": csrf}).status_code == 403
    assert not access_gw.redis.keys("isoko:ussd:s:*")  # no session was started


def test_an_editor_dials_and_every_hop_is_audited_under_their_name(access_gw):
    client, csrf = logged_in(access_gw, "eddie")
    phone = simulated(client, csrf)
    main = phone.dial()
    assert "English" in main
    phone.hop(option(main, "English"))
    entries = hop_audit(access_gw)
    assert [e.username for e in entries] == ["eddie", "eddie"]
    assert all(e.target == "+25078*****01" for e in entries)  # masked: viewers read the audit log
    assert SELLER not in " ".join(e.detail for e in entries)
    assert entries[0].detail == f"session {phone.session}: input ''"
    assert entries[1].detail.endswith(f"input {option(main, 'English')!r}")


def test_an_audited_hop_hides_a_number_typed_in_it(access_gw):
    client, csrf = logged_in(access_gw, "eddie")
    phone = simulated(client, csrf)
    phone.dial()
    phone.hop("0788123456")
    assert "0788123456" not in hop_audit(access_gw)[-1].detail


def test_the_audit_page_lists_simulated_hops(access_gw):
    client, csrf = logged_in(access_gw, "eddie")
    simulated(client, csrf).dial()
    page = client.get("/admin/audit?action=simulator_hop").get_data(as_text=True)
    assert "simulator_hop" in page and "eddie" in page and SELLER not in page


def _seller_with_an_sms(gw) -> None:
    phone = Phone(gw.http, SELLER, session="seller", token=TOKEN)
    register(phone)
    body = phone.hop(option(phone.dial(), "Sell"))
    check_reply(phone.walk(option(body, "Coffee cherry"), "50", "700", "1"))


def test_a_viewer_sees_the_inbox_with_numbers_masked(access_gw):
    _seller_with_an_sms(access_gw)
    viewer, _ = logged_in(access_gw, "vera")
    inbox = viewer.get(f"/simulator/inbox?phone={SELLER.replace('+', '%2B')}").get_json()
    assert inbox["phone"] == "+25078*****01"
    assert inbox["messages"] and all(SELLER not in m["text"] for m in inbox["messages"])
    editor, _ = logged_in(access_gw, "eddie")
    assert editor.get(f"/simulator/inbox?phone={SELLER.replace('+', '%2B')}").get_json()["phone"] == SELLER


def test_inbox_texts_of_a_viewer_hide_numbers_inside_them(access_gw):
    from gateway.sms.models import Message

    with access_gw.db.session() as s:
        s.add(Message(recipient=SELLER, text="Buyer +250722000002 wants 50 kg; call 0722000002.",
                      kind="order_alert", language="en"))
    viewer, _ = logged_in(access_gw, "vera")
    text = viewer.get(f"/simulator/inbox?phone={SELLER.replace('+', '%2B')}").get_json()["messages"][0]["text"]
    assert "722000002" not in text and "wants 50 kg" in text


def test_a_web_process_with_open_callbacks_is_not_local(gateway, monkeypatch):
    """ALLOW_OPEN_CALLBACKS opens /at/*, never the simulator: a stranger gets
    nothing from it and the page posts to the audited route."""
    web = dataclasses.replace(gateway.services.settings, mode="web")
    monkeypatch.setattr(gateway.services, "settings", web)
    assert gateway.http.get("/simulator/inbox?phone=%2B250788000001").status_code == 403
    assert gateway.http.post("/simulator/ussd", data=Phone(gateway.http).form("")).status_code == 403
    assert gateway.http.get("/simulator").status_code == 302
