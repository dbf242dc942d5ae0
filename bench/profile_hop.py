"""Profile a known phone's first hop in process (bench only: pyinstrument).

    python -m bench.profile_hop [--hops 2000]

Builds the gateway on DATABASE_URL and REDIS_URL (loopback servers, a
database of its own: it registers one phone), then answers `--hops` first
hops of that phone through the Flask test client, timing them and printing
pyinstrument's tree of where the time went. Nothing here is imported by
the gateway.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from pyinstrument import Profiler

from gateway.core.settings import Settings
from gateway.web.app import create_app
from gateway.web.services import bootstrap, build_services

PHONE = "+250788009999"


def form(session: str, text: str) -> dict:
    return {"sessionId": session, "phoneNumber": PHONE, "serviceCode": "*384*7#",
            "networkCode": "63510", "text": text}


def register(client) -> None:
    """Walk the first-dial registration once (English, the first district)."""
    for text in ("", "2", "2*Bench Seller", "2*Bench Seller*1", "2*Bench Seller*1*1"):
        body = client.post("/at/ussd", data=form("bench-register", text)).get_data(as_text=True)
    assert "Hello Bench Seller" in body, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hops", type=int, default=2000, help="at most 5,000")
    args = parser.parse_args()
    settings = Settings.from_env({"DATABASE_URL": os.environ["DATABASE_URL"],
                                  "REDIS_URL": os.environ["REDIS_URL"],
                                  # one phone dials all the hops: lift its per-minute limit
                                  "USSD_HOPS_PER_MINUTE": "10000"})
    services = build_services(settings)
    bootstrap(services)
    client = create_app(services=services).test_client()
    register(client)
    times = []
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for i in range(min(args.hops, 5_000)):  # under the lifted limit
        started = time.perf_counter()
        body = client.post("/at/ussd", data=form(f"bench-{i}", "")).get_data(as_text=True)
        times.append(time.perf_counter() - started)
        assert body.startswith("CON Isoko: Hello Bench Seller"), body
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"first hop in process: median {statistics.median(times) * 1000:.3f} ms, "
          f"p99 {sorted(times)[int(len(times) * 0.99)] * 1000:.3f} ms over {len(times)} hops")


if __name__ == "__main__":
    main()
