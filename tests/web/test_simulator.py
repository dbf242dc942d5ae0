"""The phone simulator: who may use it, its inbox, and dialling a draft."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from gateway.ussd import menustore
from gateway.ussd.models import MenuVersion
from gateway.ussd.sessions import Record
from gateway.operators.models import Draft
from tests.ussd.helpers import Phone, option, register

TOKEN = "a-long-random-callback-secret"
SHIPPED = menustore.SHIPPED.joinpath("marketplace.yaml").read_text(encoding="utf-8")


@dataclass
class SimPhone(Phone):
    """A phone as the simulator dials: the provider's form, plus the draft
    switch, posted where the page posts."""

    url: str = "/at/ussd"
    draft: bool = False
    headers: dict | None = None

    def form(self, text: str) -> dict:
        form = super().form(text)
        if self.draft:
            form["isokoDraft"] = "1"
        return form

    def post(self, text: str):
        return self.client.post(self.url, data=self.form(text), headers=self.headers or {})


def save_draft(gw, source: str) -> None:
    with gw.db.session() as s:
        draft = s.get(Draft, "marketplace")
        if draft is None:
            s.add(Draft(name="marketplace", source=source, base_version=1, updated_by="editor"))
        else:
            draft.source = source


def as_operator(monkeypatch) -> None:
    """Someone logged in to the console (the simulator asks the console who)."""
    from gateway.console import auth
    from gateway.operators.models import Role

    monkeypatch.setattr(auth, "current_operator", lambda: auth.CurrentOperator(1, "ops", Role.EDITOR))


# -- who may use it ---------------------------------------------------------------


def test_the_page_runs_locally_and_dials_the_provider_route(gateway):
    response = gateway.http.get("/simulator")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-ussd-url="/at/ussd"' in page
    assert 'value="*384*7#"' in page and "63510" in page and "63514" in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page  # no inline script: the CSP forbids it
    script = gateway.http.get("/static/simulator/simulator.js")
    assert script.status_code == 200
    script.close()


def test_locally_the_simulator_route_needs_no_csrf_token(gateway):
    phone = SimPhone(gateway.http, url="/simulator/ussd")
    assert "English" in phone.dial()


def test_the_page_uses_the_configured_service_code(gateway_factory):
    gw = gateway_factory(env={"USSD_SERVICE_CODE": "*123*4#"})
    assert 'value="*123*4#"' in gw.http.get("/simulator").get_data(as_text=True)


def test_with_a_callback_token_strangers_get_nothing(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    page = gw.http.get("/simulator")
    assert page.status_code == 302 and page.headers["Location"].startswith("/admin/login")
    assert gw.http.get("/simulator/inbox?phone=%2B250788000001").status_code == 403
    assert gw.http.get("/simulator/draft").status_code == 403
    assert SimPhone(gw.http, url="/simulator/ussd").post("").status_code == 403


def test_a_production_flag_also_closes_it(gateway, monkeypatch):
    monkeypatch.setattr(gateway.services, "settings", _Production(gateway.services.settings))
    assert gateway.http.get("/simulator/inbox?phone=%2B250788000001").status_code == 403


class _Production:
    """Settings with a `production` flag (a field the settings may grow)."""

    production = True

    def __init__(self, settings):
        self._settings = settings

    def __getattr__(self, name):
        return getattr(self._settings, name)


def test_an_operator_dials_through_the_simulator_route_with_csrf(gateway_factory, monkeypatch):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    as_operator(monkeypatch)
    page = gw.http.get("/simulator").get_data(as_text=True)
    assert 'data-ussd-url="/simulator/ussd"' in page
    assert TOKEN not in page  # the callback token never reaches a browser
    csrf = re.search(r'data-csrf-token="([^"]+)"', page).group(1)
    phone = SimPhone(gw.http, url="/simulator/ussd")
    assert phone.post("").status_code == 400  # no CSRF token
    phone.headers = {"X-CSRFToken": csrf}
    assert "English" in phone.dial()
    assert phone.hop(option(phone.dial(), "English")).startswith("CON ")
    # The provider's route still wants the token, operator or not.
    assert gw.http.post("/at/ussd", data=phone.form("")).status_code == 403


def test_an_operator_dials_a_draft_through_the_simulator_route(gateway_factory, monkeypatch):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    save_draft(gw, SHIPPED.replace("Sell goods", "Sell draft goods"))
    as_operator(monkeypatch)
    page = gw.http.get("/simulator").get_data(as_text=True)
    csrf = re.search(r'data-csrf-token="([^"]+)"', page).group(1)
    phone = SimPhone(gw.http, url="/simulator/ussd", headers={"X-CSRFToken": csrf}, draft=True)
    register(phone)
    main = phone.dial()
    assert "1. Sell draft goods" in main
    assert phone.hop("1").startswith("CON What are you selling?")


# -- the inbox ------------------------------------------------------------------------


def test_inbox_shows_the_sms_of_that_phone_only(gateway):
    alice = Phone(gateway.http, "+250788000001", session="a")
    bob = Phone(gateway.http, "+250722000002", session="b")
    codes = []
    for phone, name in ((alice, "Alice"), (bob, "Bob")):
        register(phone, name=name)
        body = phone.hop(option(phone.dial(), "Sell"))
        body = phone.walk(option(body, "Coffee cherry"), "50", "700", "1")
        codes.append(body.split("Code: ")[1][:6])
    response = gateway.http.get("/simulator/inbox?phone=0788%20000%20001")  # normalised
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    inbox = response.get_json()
    assert inbox["phone"] == "+250788000001"
    assert len(inbox["messages"]) == 1
    message = inbox["messages"][0]
    assert message["kind"] == "listing_receipt" and message["status"] == "queued"
    assert f"listing {codes[0]} saved" in message["text"] and codes[1] not in message["text"]
    assert set(message) == {"id", "text", "kind", "status", "delivery_status", "segments",
                            "created_at", "sent_at"}
    assert gateway.http.get("/simulator/inbox?phone=12").status_code == 400
    assert gateway.http.get("/simulator/inbox").status_code == 400


# -- dialling a draft -------------------------------------------------------------------


def test_a_draft_is_dialled_only_on_request_and_published_nothing(gateway):
    save_draft(gateway, SHIPPED.replace("Sell goods", "Sell draft goods"))
    regular = Phone(gateway.http, "+250788000001", session="reg")
    drafted = SimPhone(gateway.http, "+250788000002", session="sim", draft=True)
    register(regular)
    register(drafted)
    assert "Sell goods" in regular.dial()
    assert "Sell draft goods" in drafted.dial()
    with gateway.db.session() as s:
        assert s.scalar(select(func.count(MenuVersion.id))) == 1
    state = _state(gateway, drafted.session)
    assert state["ver"] == 0 and state["menu"].startswith("marketplace@draft-")


def _state(gw, session_id: str) -> dict:
    raw = gw.redis.get(f"isoko:ussd:s:{session_id}")
    return Record.loads(raw).state


def test_a_draft_session_keeps_its_draft_when_the_draft_changes(gateway):
    save_draft(gateway, SHIPPED.replace("Sell goods", "Sell draft goods"))
    phone = SimPhone(gateway.http, session="sim", draft=True)
    register(phone)
    main = phone.dial()
    products = phone.hop(option(main, "Sell draft goods"))
    save_draft(gateway, SHIPPED.replace("Sell goods", "Sell edited goods"))
    assert phone.hop("0") == main  # back: still the first draft
    assert "Sell edited goods" in phone.dial()  # a new session gets the new draft
    assert products.startswith("CON ")


def test_a_draft_session_continues_in_another_process(gateway_factory):
    first, second = gateway_factory(), gateway_factory()
    save_draft(first, SHIPPED.replace("Sell goods", "Sell draft goods"))
    phone = SimPhone(first.http, session="sim", draft=True)
    register(phone)
    main = phone.dial()
    phone.client = second.http  # the next hop lands on another web process
    products = phone.hop(option(main, "Sell draft goods"))
    assert products.startswith("CON What are you selling?")
    assert phone.hop("0") == main


def test_the_provider_never_gets_a_draft(gateway_factory):
    gw = gateway_factory(env={"CALLBACK_TOKEN": TOKEN})
    save_draft(gw, SHIPPED.replace("Sell goods", "Sell draft goods"))
    phone = SimPhone(gw.http, session="p", draft=True, token=TOKEN)
    phone.url = f"/at/ussd?token={TOKEN}"
    register(phone)
    assert "Sell goods" in phone.dial()  # the field is ignored without an operator


def test_a_dropped_draft_session_resumes_on_the_draft_only(gateway):
    save_draft(gateway, SHIPPED.replace("Sell goods", "Sell draft goods"))
    phone = SimPhone(gateway.http, session="one", draft=True)
    register(phone)
    products = phone.hop(option(phone.dial(), "Sell draft goods"))
    quantity = phone.hop(option(products, "Coffee cherry"))  # then the phone drops
    phone.session = "two"
    assert phone.dial().startswith("CON Continue selling Coffee cherry?")
    assert phone.hop("1") == quantity
    assert phone.hop("0") == products
    assert phone.hop("0").startswith("CON Isoko: Hello Jean Bosco\n1. Sell draft goods")
    phone.walk(option(phone.dial(), "Sell draft goods"), "1")  # drops again
    phone.draft, phone.session = False, "three"
    assert "1. Sell goods" in phone.dial()  # a regular dial is never offered the draft


def test_dialling_a_draft_without_one_ends_politely(gateway):
    phone = SimPhone(gateway.http, draft=True)
    assert phone.dial().startswith("END ")


def test_draft_status(gateway):
    assert gateway.http.get("/simulator/draft").get_json() == {"menu": "marketplace", "exists": False}
    save_draft(gateway, SHIPPED.replace("Sell goods", "Sell draft goods"))
    status = gateway.http.get("/simulator/draft").get_json()
    assert status["exists"] and status["errors"] == 0 and status["base_version"] == 1
    save_draft(gateway, SHIPPED.replace("\nstart: start\n", "\nstart: nowhere\n", 1))
    status = gateway.http.get("/simulator/draft").get_json()
    assert status["errors"] >= 1 and status["problems"]


@pytest.mark.parametrize("network", ["63510", "63514"])
def test_any_network_code_and_number(gateway, network):
    phone = SimPhone(gateway.http, number="+250733123456", network=network)
    assert phone.dial().startswith("CON ")
