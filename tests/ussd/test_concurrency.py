"""Two identical POSTs at the same moment apply the hop once and get the
same answer: a real threaded HTTP server, two real clients."""
from __future__ import annotations

import threading

import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from gateway.market.models import Listing
from gateway.sms.models import Message
from tests.ussd.helpers import Phone, option, register


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}/at/ussd"


def test_simultaneous_identical_confirms_create_one_listing(gateway, monkeypatch):
    from gateway.ussd import actions

    phone = Phone(gateway.http)
    register(phone)
    body = phone.hop(option(phone.dial(), "Sell"))
    phone.walk(option(body, "Coffee cherry"), "50", "700")  # now on the summary
    slow_started = threading.Event()
    original, outcomes = actions.REGISTRY["create_listing"]

    def slow_create(env, values):
        slow_started.set()
        threading.Event().wait(0.4)  # hold the hop so the twin surely arrives meanwhile
        return original(env, values)

    monkeypatch.setitem(actions.REGISTRY, "create_listing", (slow_create, outcomes))
    server, url = _serve(gateway.http.application)
    form = phone.form(phone.text + "*1")
    bodies: list[str] = []
    try:
        barrier = threading.Barrier(2)

        def post():
            barrier.wait()
            with requests.Session() as http:
                response = http.post(url, data=form, timeout=15)
            bodies.append((response.status_code, response.text))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    finally:
        server.shutdown()
    assert slow_started.is_set()
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert bodies[0][0] == 200 and bodies[0][1].startswith("END Listed! Code: ")
    with gateway.db.session() as s:
        assert s.scalar(select(func.count(Listing.id))) == 1
        assert s.scalar(select(func.count(Message.id))) == 1
