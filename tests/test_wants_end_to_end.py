"""Issue 10's acceptance for wants, on real Redis and SQL (each backend), the
SMS through the real africastalking SDK to the loopback provider: a want for
beans at most 900 RWF/kg in Huye, then a listing at 850 in Huye → the buyer's
SMS carries the listing's dial string (which opens it to order); a listing at
950 or in another district → no SMS; the same with the want posted after the
listings. The matching runs in the worker (the wants' queue), not in the hop."""
from __future__ import annotations

import re

import pytest
from rq import Queue

from gateway.core import jobs as context
from gateway.market import want_jobs
from gateway.sms.keys import SERIALIZER
from gateway.worker import runner
from tests.sim import ProviderSimulator
from tests.ussd.helpers import Phone, option, register

BUYER, SELLER, FAR_SELLER = "+250722000002", "+250788000001", "+250788000003"
API_KEY = "e2e-wants-api-key"
DIAL = re.compile(r"Dial (\*384\*7\*(\d{6})#) to order")


@pytest.fixture
def market(gateway_factory, database):
    """The gateway wired to the simulator, and a way to run the workers once."""
    with ProviderSimulator(username="isoko", api_key=API_KEY) as sim:
        gw = gateway_factory(env={"AT_USERNAME": "isoko", "AT_API_KEY": API_KEY,
                                  "AT_API_URL": sim.url, "AT_SENDER_ID": "ISOKO"})
        context.configure(database.url.render_as_string(hide_password=False), settings=gw.services.settings)
        worker = runner.make_worker(gw.redis)
        yield gw, sim, lambda: worker.work(burst=True)
        context.reset()


def _texts(sim, phone: str) -> list[str]:
    return [m.text for m in sim.received(to=phone)]


def _choose(phone: Phone, body: str, label: str) -> str:
    """Page through a long list (30 districts, 7 a page) to `label` and pick it."""
    for _ in range(6):
        if f". {label}" in body:
            break
        body = phone.hop("98")
    return phone.hop(option(body, label))


def _post_want(gw, price: str = "900", district: str = "Huye") -> str:
    buyer = Phone(gw.http, BUYER, session="want")
    body = buyer.hop(option(buyer.dial(), "Wants"))
    body = buyer.hop(option(body, "Post a want"))
    body = buyer.hop(option(body, "Beans"))
    assert body == "CON Beans: how many kg do you want?\n0. Back"
    body = buyer.walk("200", price)
    assert body.startswith("CON From which district?")
    body = _choose(buyer, buyer.hop(option(body, "Choose a district")), district)
    assert body == (f"CON Want: Beans\n200 kg, at most {int(price):,} RWF\n{district}, 14 days. "
                    "Confirm?\n1. Yes\n2. No\n0. Back")
    assert buyer.hop("1") == "END Want posted. You will get an SMS for each matching offer."
    return body


def _list_beans(gw, number: str, price: str) -> None:
    seller = Phone(gw.http, number, session=f"sell-{number}-{price}")
    body = seller.hop(option(seller.dial(), "Sell"))
    assert seller.walk(option(body, "Beans"), "300", price, "1").startswith("END Listed!")


@pytest.fixture
def people(market):
    gw, sim, deliver = market
    register(Phone(gw.http, BUYER, session="reg-buyer"), name="Buyer", district="Huye")
    register(Phone(gw.http, SELLER, session="reg-seller"), name="Seller", district="Huye")
    register(Phone(gw.http, FAR_SELLER, session="reg-far"), name="Far Seller", district="Gasabo")
    deliver()
    return market


def _no_matching_job_ran_in_the_hop(gw) -> None:
    """The hop only queued the matching: a job waits on the wants' queue."""
    assert Queue(want_jobs.WANTS_QUEUE, connection=gw.redis, serializer=SERIALIZER).count >= 1


def test_a_want_then_a_listing_under_its_price_in_its_district_texts_the_dial_string(people):
    gw, sim, deliver = people
    _post_want(gw)
    deliver()
    _list_beans(gw, SELLER, "950")  # over the maximum
    _list_beans(gw, FAR_SELLER, "850")  # another district
    deliver()
    assert not any("for your request" in t for t in _texts(sim, BUYER))
    _list_beans(gw, SELLER, "850")
    _no_matching_job_ran_in_the_hop(gw)
    assert not any("for your request" in t for t in _texts(sim, BUYER))
    deliver()
    (told,) = [t for t in _texts(sim, BUYER) if "for your request" in t]
    assert "Beans, 300 kg at 850 RWF/kg, Huye" in told
    dial, code = DIAL.search(told).groups()

    # The dial string in the SMS opens that listing to order from.
    phone = Phone(gw.http, BUYER, session="from-sms", code=dial)
    assert phone.dial() == "CON How many kg? Available: 300\n0. Back"
    body = phone.hop("20")
    assert body.startswith("CON Beans\n20 kg x 850 RWF\nTotal: 17,000 RWF\nHuye. Confirm?")
    assert phone.hop("1").startswith("END Order ")
    deliver()
    assert any("new order" in t and "20 kg Beans" in t for t in _texts(sim, SELLER))
    assert code


def test_listings_then_a_want_texts_the_cheapest_match_and_tells_its_seller(people):
    gw, sim, deliver = people
    _list_beans(gw, SELLER, "950")
    _list_beans(gw, FAR_SELLER, "850")
    deliver()
    _post_want(gw)
    deliver()
    assert not any("for your request" in t for t in _texts(sim, BUYER))  # neither matches
    assert not any("a buyer wants" in t for t in _texts(sim, SELLER) + _texts(sim, FAR_SELLER))
    _list_beans(gw, SELLER, "850")  # this one will match the want above
    deliver()
    assert len([t for t in _texts(sim, BUYER) if "for your request" in t]) == 1

    # And the other way round: a second buyer's want, posted after the listings.
    second = "+250733000009"
    register(Phone(gw.http, second, session="reg-second"), name="Second", district="Huye")
    deliver()
    buyer = Phone(gw.http, second, session="want-2")
    body = buyer.hop(option(buyer.dial(), "Wants"))
    body = buyer.hop(option(body, "Post a want"))
    body = buyer.walk(option(body, "Beans"), "100", "900")
    body = _choose(buyer, buyer.hop(option(body, "Choose a district")), "Huye")
    assert buyer.hop("1").startswith("END Want posted.")
    deliver()
    (told,) = [t for t in _texts(sim, second) if "for your request" in t]
    assert "850 RWF/kg, Huye" in told and DIAL.search(told)
    (seller_told,) = [t for t in _texts(sim, SELLER) if "a buyer wants" in t]
    assert "Beans, 100 kg, at up to 900 RWF/kg" in seller_told
    assert not any("a buyer wants" in t for t in _texts(sim, FAR_SELLER))
    deliver()  # nothing more: each pair is told once
    assert len([t for t in _texts(sim, second) if "for your request" in t]) == 1


def test_my_wants_lists_an_open_want_and_closing_it_stops_its_sms(people):
    gw, sim, deliver = people
    _post_want(gw)
    deliver()
    buyer = Phone(gw.http, BUYER, session="mine")
    body = buyer.hop(option(buyer.dial(), "Wants"))
    body = buyer.hop(option(body, "My wants"))
    assert body.startswith("CON My wants:\n1. Beans 200 kg")
    body = buyer.hop("1")
    assert body == "CON Beans 200 kg\nAt most 900 RWF\n1. I found it\n2. Close it\n0. Back"
    assert buyer.hop(option(body, "Close it")) == "END Want closed. No more SMS for it."
    _list_beans(gw, SELLER, "850")
    deliver()
    assert not any("for your request" in t for t in _texts(sim, BUYER))
    again = Phone(gw.http, BUYER, session="mine-again")
    body = again.hop(option(again.dial(), "Wants"))
    assert again.hop(option(body, "My wants")).startswith("CON You have no open wants.")
