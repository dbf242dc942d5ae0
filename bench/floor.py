"""The floor: the least a USSD gateway on Flask and Redis can do per hop.

A bare Flask app with one view, `POST /at/ussd`, taking the provider's form
(`sessionId`, `phoneNumber`, `networkCode`, `serviceCode`, `text`): one Redis
GET of the session and one SET with expiry, then a fixed `CON` screen. Served
by gunicorn with Isoko's own `config/gunicorn.conf.py`, it is what Isoko's
hops are compared against (`bench/hops.py`).

Contract: every POST answers 200 with a body starting `CON Floor`; the
`X-Worker` header names the worker's pid, so the bench can check how the
gunicorn workers shared the connections. Reads REDIS_URL (required).
"""
from __future__ import annotations

import os

import redis
from flask import Flask, Response, request

SESSION_TTL_SECONDS = 300
SCREEN = "CON Floor\n1. Sell\n2. Buy\n3. Prices"


def create_app() -> Flask:
    """The floor app; gunicorn's factory (`bench.floor:create_app()`)."""
    app = Flask(__name__)
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    worker = str(os.getpid())

    @app.post("/at/ussd")
    def ussd() -> Response:
        key = "floor:s:" + request.form.get("sessionId", "")
        previous = client.get(key)
        # The depth stands in for a state: the SET depends on the GET, as a session's would.
        depth = int(previous or 0) + 1
        client.set(key, depth, ex=SESSION_TTL_SECONDS)
        reply = Response(SCREEN, mimetype="text/plain")
        reply.headers["X-Worker"] = worker
        return reply

    return app
