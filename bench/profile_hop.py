"""Profile one kind of hop in process (bench only: pyinstrument).

    python -m bench.profile_hop [--kind first_known|navigation|first_unknown] [--hops 2000]

Builds the gateway on DATABASE_URL and REDIS_URL (loopback servers, a
database of its own: it registers one phone) and answers `--hops` hops of
the kind through the WSGI app the web process serves (the fast layer in
front of Flask included), the way `bench/hops.py` drives them: a known
phone's first hops, the navigation journey (language, name, district pages
back and forth; its one first hop in nine is not timed), or first hops of
phones never seen. Prints pyinstrument's tree of where the time went and
the median and p99 per hop. Nothing here is imported by the gateway.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from pyinstrument import Profiler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hops import NAV  # noqa: E402
from gateway.core.settings import Settings  # noqa: E402
from gateway.ussd import registered  # noqa: E402
from gateway.web.app import create_app  # noqa: E402
from gateway.web.services import bootstrap, build_services  # noqa: E402

PHONE = "+250788009999"
KINDS = ("first_known", "navigation", "first_unknown")


class Wsgi:
    """POSTs to `/at/ussd` straight into the WSGI callable, as gunicorn
    calls it: no test client's own work in the profile."""

    def __init__(self, app):
        self.app = app

    def post(self, session: str, phone: str, text: str) -> str:
        body = urlencode({"sessionId": session, "phoneNumber": phone, "serviceCode": "*384*7#",
                          "networkCode": "63510", "text": text}).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/at/ussd", "QUERY_STRING": "",
                   "CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
                   "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
                   "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
        status = []
        chunks = self.app(environ, lambda s, headers, exc_info=None: status.append(s))
        assert status and status[0].startswith("200"), status
        return b"".join(chunks).decode()


def register(client: Wsgi) -> None:
    """Walk the first-dial registration once (English, the first district),
    unless an earlier run registered the phone already."""
    body = client.post("bench-known", PHONE, "")
    if "Hello Bench Seller" in body:
        return
    for text in ("", "2", "2*Bench Seller", "2*Bench Seller*1", "2*Bench Seller*1*1"):
        body = client.post("bench-register", PHONE, text)
    assert "Hello Bench Seller" in body, body


def hops(kind: str, count: int, first: int = 0):
    """(session, phone, text, expected start, timed) for `count` timed hops of
    `kind`, sessions and new phones numbered from `first`."""
    n = first
    while n < first + count:
        if kind == "first_known":
            yield f"bench-{n}", PHONE, "", "CON Isoko: Hello Bench Seller", True
            n += 1
        elif kind == "first_unknown":
            yield f"bench-u-{n}", f"+2507891{n:05d}", "", "CON Isoko", True
            n += 1
        else:
            phone, session = f"+2507892{n:05d}", f"bench-n-{n}"
            for i, (text, expect) in enumerate(NAV):
                yield session, phone, text, expect, i > 0
                n += i > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=KINDS, default="first_known")
    parser.add_argument("--hops", type=int, default=2000, help="at most 5,000")
    args = parser.parse_args()
    settings = Settings.from_env({"DATABASE_URL": os.environ["DATABASE_URL"],
                                  "REDIS_URL": os.environ["REDIS_URL"],
                                  # one phone dials all the hops: lift its per-minute limit
                                  "USSD_HOPS_PER_MINUTE": "10000"})
    services = build_services(settings)
    bootstrap(services)
    registered.refresh(services.db, services.redis)  # as a deploy's worker does in its first minute
    client = Wsgi(create_app(services=services).wsgi_app)
    register(client)
    count = min(args.hops, 5_000)
    for session, phone, text, expect, _ in hops(args.kind, 50, first=count):  # warm the caches
        body = client.post(session, phone, text)
        assert body.startswith(expect), (text, body)
    times = []
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for session, phone, text, expect, timed in hops(args.kind, count):
        started = time.perf_counter()
        body = client.post(session, phone, text)
        if timed:
            times.append(time.perf_counter() - started)
        assert body.startswith(expect), (text, body)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"{args.kind} hop in process: median {statistics.median(times) * 1000:.3f} ms, "
          f"p99 {sorted(times)[int(len(times) * 0.99)] * 1000:.3f} ms over {len(times)} hops")


if __name__ == "__main__":
    main()
