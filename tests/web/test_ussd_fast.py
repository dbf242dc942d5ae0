"""`POST /at/ussd` without Flask's cycle (`gateway.web.ussd_fast`): an ordinary
hop is answered there, exactly as the Flask view answers it; every other
request reaches Flask untouched and gets Flask's own answer (400, 403, 405,
413, multipart, chunked), with the body it sent."""
from __future__ import annotations

import io
import urllib.parse

import pytest
from werkzeug.test import Client

from gateway.web.ussd_fast import FastUssd
from tests.ussd.helpers import option

TOKEN = "fast-path-token-0123456789"


def _form(session: str, text: str = "", **extra) -> dict:
    return {"sessionId": session, "phoneNumber": "+250788111222", "networkCode": "63510",
            "serviceCode": "*384*7#", "text": text, **extra}


class Spy:
    """Wraps the Flask app behind the fast layer: counts what reaches Flask."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.app(environ, start_response)


def _layer(app) -> FastUssd:
    wsgi = app.wsgi_app
    while not isinstance(wsgi, FastUssd):  # under ProxyFix when TRUSTED_PROXIES is set
        wsgi = wsgi.app
    return wsgi


@pytest.fixture
def fast(gateway_factory):
    def make(env=None):
        gw = gateway_factory(env)
        layer = _layer(gw.http.application)
        spy = Spy(layer.app)
        layer.app = spy
        return gw, spy
    return make


def _flask_only(spy) -> Client:
    """A client whose requests skip the fast layer (the Flask app alone)."""
    return Client(spy)


def test_an_ordinary_hop_is_answered_without_flask_as_flask_answers_it(fast):
    gw, spy = fast()
    fast_reply = gw.http.post("/at/ussd", data=_form("fast-1"))
    assert spy.calls == 0
    flask_reply = _flask_only(spy).post("/at/ussd", data=_form("flask-1"))
    assert spy.calls == 1
    assert fast_reply.status_code == flask_reply.status_code == 200
    assert fast_reply.get_data(as_text=True) == flask_reply.get_data(as_text=True)
    assert fast_reply.get_data(as_text=True).startswith("CON ")
    assert fast_reply.headers["Content-Type"] == flask_reply.headers["Content-Type"]
    assert "Set-Cookie" not in fast_reply.headers and "Set-Cookie" not in flask_reply.headers
    # The next hop of each session continues where it was, whichever way it came.
    english = option(fast_reply.get_data(as_text=True), "English")
    for session in ("fast-1", "flask-1"):
        assert gw.http.post("/at/ussd", data=_form(session, english)).get_data(as_text=True).startswith(
            "CON Welcome to Isoko")
    assert spy.calls == 1


@pytest.mark.parametrize("form, status, words", [
    ({"phoneNumber": "+250788111222", "serviceCode": "*384*7#", "text": ""}, 400, "sessionId"),
    (_form("bad-phone", phoneNumber="0788"), 400, "phoneNumber"),
    (_form("long", text="1" * 5000), 400, "text"),
])
def test_a_bad_hop_reaches_flask_with_its_body_and_gets_flasks_400(fast, form, status, words):
    gw, spy = fast()
    reply = gw.http.post("/at/ussd", data=form)
    assert spy.calls == 1
    assert reply.status_code == status and words in reply.get_data(as_text=True)


def test_a_body_that_is_not_utf8_gets_flasks_answer(fast):
    gw, spy = fast()
    body = urllib.parse.urlencode(_form("latin")).encode() + b"&x=\xff\xfe"
    reply = gw.http.post("/at/ussd", data=body, content_type="application/x-www-form-urlencoded")
    assert spy.calls == 1 and reply.status_code == 400


def test_the_token_and_the_address_are_checked_before_the_fast_answer(fast):
    gw, spy = fast({"CALLBACK_TOKEN": TOKEN, "CALLBACK_ALLOW_CIDRS": "127.0.0.0/8"})
    assert gw.http.post("/at/ussd?token=wrong", data=_form("t-1")).status_code == 403
    assert gw.http.post("/at/ussd", data=_form("t-2")).status_code == 403
    assert spy.calls == 2  # refused by Flask's guard, in its words
    ok = gw.http.post(f"/at/ussd?token={TOKEN}", data=_form("t-3"))
    assert ok.status_code == 200 and ok.get_data(as_text=True).startswith("CON ")
    assert spy.calls == 2
    outside = gw.http.post(f"/at/ussd?token={TOKEN}", data=_form("t-4"),
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 403 and spy.calls == 3


def test_what_is_not_an_ordinary_form_post_goes_to_flask(fast):
    gw, spy = fast({"MAX_BODY_BYTES": "4096"})
    assert gw.http.get("/at/ussd").status_code == 405
    assert gw.http.post("/at/ussd", data={**_form("big"), "pad": "x" * 5000}).status_code == 413
    multipart = gw.http.post("/at/ussd", data=_form("multi"), content_type="multipart/form-data")
    assert multipart.status_code == 200 and multipart.get_data(as_text=True).startswith("CON ")
    chunked = gw.http.post("/at/ussd", input_stream=io.BytesIO(urllib.parse.urlencode(_form("chunk")).encode()),
                           content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},  # as gunicorn passes it
                           headers={"Transfer-Encoding": "chunked"})
    assert chunked.status_code == 200 and chunked.get_data(as_text=True).startswith("CON ")
    assert gw.http.post("/at/ussd/", data=_form("slash")).status_code in (308, 404, 405)
    assert spy.calls == 5


def test_a_service_that_raises_gets_the_polite_end_and_is_counted(fast, monkeypatch):
    gw, spy = fast()

    class Broken:
        def answer(self, hop):
            raise RuntimeError("redis is down")

    monkeypatch.setattr(gw.services, "hops", Broken())
    reply = gw.http.post("/at/ussd", data=_form("broken"))
    assert reply.status_code == 200 and reply.get_data(as_text=True).startswith("END Sorry")
    assert spy.calls == 0
    metrics = gw.http.get("/metrics").get_data(as_text=True)
    assert 'isoko_ussd_hops_total{outcome="error"} 1.0' in metrics
