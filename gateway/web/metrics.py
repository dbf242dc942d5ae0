"""Prometheus metrics at `GET /metrics`, with the official `prometheus_client`.

What is exported:

| metric | type | what |
|---|---|---|
| `isoko_ussd_hops_total{outcome}` | counter | USSD callbacks by outcome: `continue`, `end`, `replay` (a retransmission or a concurrent duplicate answered from the session record), `error` (a polite END after a failure), `bad_request` (400: a malformed provider field), `forbidden` (403: wrong or missing CALLBACK_TOKEN, or outside CALLBACK_ALLOW_CIDRS), `limited` (the polite END past USSD_HOPS_PER_MINUTE) |
| `isoko_ussd_hop_duration_seconds` | histogram | time to answer a hop (load, engine, actions, save), buckets from 1 ms to 10 s |
| `isoko_ussd_sessions_started_total` | counter | first hops of a provider session |
| `isoko_ussd_sessions_finished_total` | counter | sessions the menu ended (an END that is not an error) |
| `isoko_sms_messages{status}` | gauge | outbound SMS rows by status, one `GROUP BY` at scrape time |
| `isoko_rq_queue_depth{queue}` | gauge | jobs waiting in each RQ queue, read from Redis at scrape time |
| `isoko_rq_failed_jobs{queue}` | gauge | jobs in each queue's RQ failed-job registry (not yet expired) |
| `isoko_sms_due{when}` | gauge | message ids in the SMS pipeline's due set in Redis: due `now` or retrying `later` |
| `isoko_metrics_source_up{source}` | gauge | 1 when the scrape could read the `database` / `redis`, else 0 |

Durations are in seconds, as Prometheus names them; the buckets are sized
for hops that take milliseconds.

One `CollectorRegistry` per app (never the global default one): tests and
embedding code build many apps in one process.

Several processes (gunicorn workers): the counters and the histogram live
in the process that answered the hop, so a scrape that lands on one worker
sees only that worker's share. Set `PROMETHEUS_MULTIPROC_DIR` to an empty
directory, writable by every worker, wiped before each start (and call
`prometheus_client.multiprocess.mark_process_dead(worker.pid)` from
gunicorn's `child_exit` hook): then each process writes its counters there and
every scrape adds up all of them (prometheus_client's multiprocess mode).
The gauges are read from SQL and Redis at scrape time, so they are whole in
either mode. Without the variable the counters are per process (right for
`gateway serve`, which is one process).
"""
from __future__ import annotations

import logging
import os
import time

from flask import Blueprint, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from rq.registry import FailedJobRegistry
from sqlalchemy import text

from gateway.sms import queue as queues
from gateway.sms.models import MessageStatus
from gateway.ussd.hop import SORRY

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

EXTENSION = "isoko_metrics"
OUTCOMES = ("continue", "end", "replay", "error", "bad_request", "forbidden", "limited")
# Seconds, sized for milliseconds: a hop is a few ms; the provider gives up near 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The views that answer provider-style USSD hops (the simulator relays to the same view).
PROVIDER_ENDPOINT = "ussd.callback"
USSD_ENDPOINTS = frozenset({PROVIDER_ENDPOINT, "simulator.ussd"})
_ERROR_TEXTS = frozenset(SORRY.values())
_OBSERVED = "_isoko_hop_observed"
# The SMS pipeline's sorted set of message ids by due time (workers.queues);
# read defensively while that pipeline is young.
_DUE_KEY = getattr(queues, "DUE_KEY", None)


class GatewayMetrics:
    """The metrics of one app: its own registry, the hop counters, and the
    collectors that read SQL and Redis when scraped."""

    def __init__(self, db, redis_client, *, multiprocess_dir: str | None = None):
        self.multiprocess_dir = multiprocess_dir
        # Multiprocess mode: values go to files in the directory and the scrape
        # registry reads them all back; registering the metrics themselves
        # there as well would export them twice.
        own = None if multiprocess_dir else CollectorRegistry(auto_describe=True)
        self.hops = Counter("isoko_ussd_hops", "USSD hops answered, by outcome.", ["outcome"],
                            registry=own)
        for outcome in OUTCOMES:
            self.hops.labels(outcome)  # every series exists from the start, at 0
        self.latency = Histogram("isoko_ussd_hop_duration_seconds", "Time to answer a USSD hop.",
                                 buckets=LATENCY_BUCKETS, registry=own)
        self.started = Counter("isoko_ussd_sessions_started", "USSD sessions started (first hop).",
                               registry=own)
        self.finished = Counter("isoko_ussd_sessions_finished",
                                "USSD sessions the menu ended (END, not an error).", registry=own)
        self.registry = own or CollectorRegistry(auto_describe=True)
        if multiprocess_dir:

            multiprocess.MultiProcessCollector(self.registry, path=multiprocess_dir)
        self.registry.register(StoreCollector(db, redis_client))

    def observe(self, outcome: str, started: float, reply: str | None = None,
                first: bool = False) -> None:
        """Record one answered hop (the hook `UssdService.observe`): `outcome`
        is "replay", "error", or "applied" with the `reply` it produced."""
        if outcome == "applied":
            outcome = classify(reply or "")
            if first:
                self.started.inc()
            if outcome == "end":
                self.finished.inc()
        self.hops.labels(outcome).inc()
        self.latency.observe(time.perf_counter() - started)
        if has_request_context():
            setattr(g, _OBSERVED, True)

    def unanswered(self) -> None:
        """Count a hop that failed before the service could answer it (the
        view's own polite END)."""
        self.hops.labels("error").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def classify(reply: str) -> str:
    """The outcome of an applied hop from its reply body."""
    if reply.startswith("CON "):
        return "continue"
    return "error" if reply[4:] in _ERROR_TEXTS else "end"


class StoreCollector:
    """Gauges read at scrape time: SMS rows by status (SQL), RQ queue depth
    and failed jobs (Redis, one pipelined round trip)."""

    def __init__(self, db, redis_client):
        self.db, self.redis = db, redis_client

    def describe(self):
        # Registration must not touch SQL or Redis: name the families only.
        return [GaugeMetricFamily(name, doc) for name, doc in _GAUGES.items()]

    def collect(self):
        up = GaugeMetricFamily("isoko_metrics_source_up", _GAUGES["isoko_metrics_source_up"],
                               labels=["source"])
        sms = self._sms()
        up.add_metric(["database"], 0 if sms is None else 1)
        if sms is not None:
            yield sms
        depth_and_failed = self._queues()
        up.add_metric(["redis"], 0 if depth_and_failed is None else 1)
        if depth_and_failed is not None:
            yield from depth_and_failed
        yield up

    def _sms(self) -> GaugeMetricFamily | None:
        try:
            with self.db.engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT status, COUNT(*) FROM messages GROUP BY status")).all()
        except Exception:
            log.warning("metrics: could not count messages", exc_info=True)
            return None
        counts = {status.value: 0 for status in MessageStatus}
        counts.update({str(status): int(count) for status, count in rows})
        family = GaugeMetricFamily("isoko_sms_messages", _GAUGES["isoko_sms_messages"],
                                   labels=["status"])
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        return family

    def _queues(self) -> list[GaugeMetricFamily] | None:
        names = queues.ALL_QUEUES
        try:
            pipe = self.redis.pipeline(transaction=False)
            now = time.time()
            for name in names:
                rq_queue = queues.queue(self.redis, name)
                pipe.llen(rq_queue.key)
                # Scores are expiry times: count the unexpired ones, without
                # the writes of RQ's own cleanup-then-count.
                pipe.zcount(FailedJobRegistry(queue=rq_queue).key, now, "+inf")
            if _DUE_KEY:
                pipe.zcount(_DUE_KEY, "-inf", now)
                pipe.zcount(_DUE_KEY, f"({now}", "+inf")
            values = pipe.execute()
        except Exception:
            log.warning("metrics: could not read the RQ queues", exc_info=True)
            return None
        depth = GaugeMetricFamily("isoko_rq_queue_depth", _GAUGES["isoko_rq_queue_depth"],
                                  labels=["queue"])
        failed = GaugeMetricFamily("isoko_rq_failed_jobs", _GAUGES["isoko_rq_failed_jobs"],
                                   labels=["queue"])
        for index, name in enumerate(names):
            depth.add_metric([name], int(values[2 * index]))
            failed.add_metric([name], int(values[2 * index + 1]))
        families = [depth, failed]
        if _DUE_KEY:
            due = GaugeMetricFamily("isoko_sms_due", _GAUGES["isoko_sms_due"], labels=["when"])
            due.add_metric(["now"], int(values[-2]))
            due.add_metric(["later"], int(values[-1]))
            families.append(due)
        return families


_GAUGES = {
    "isoko_sms_messages": "Outbound SMS messages by status.",
    "isoko_rq_queue_depth": "Jobs waiting in each RQ queue.",
    "isoko_rq_failed_jobs": "Jobs in each RQ queue's failed-job registry.",
    "isoko_sms_due": "Messages in the SMS pipeline's due set: due now, or retrying later.",
    "isoko_metrics_source_up": "1 when the scrape could read this source (database, redis).",
}


def init_app(app, services) -> GatewayMetrics:
    """Give `app` its metrics (the composition root calls this and hands
    `observe` to the USSD service)."""
    # No `*_created` series: noise for Prometheus (a process-wide client setting).
    disable_created_metrics()
    metrics = GatewayMetrics(services.db, services.redis,
                             multiprocess_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None)
    app.extensions[EXTENSION] = metrics
    return metrics


def for_app(app) -> GatewayMetrics:
    return app.extensions[EXTENSION]


@bp.get("/metrics")
def exposition() -> Response:
    return Response(for_app(current_app).exposition(), content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


@bp.after_app_request
def _count_refused(response: Response) -> Response:
    """Hops the service never saw: refused by the view (400) or the token
    check (403), or failed before an answer (the view's own polite END)."""
    if request.endpoint in USSD_ENDPOINTS and request.method == "POST":
        metrics = current_app.extensions.get(EXTENSION)
        provider = request.endpoint == PROVIDER_ENDPOINT  # the simulator's refusals are its own
        if metrics is None:
            pass
        elif response.status_code == 400 and provider:
            metrics.hops.labels("bad_request").inc()
        elif response.status_code == 403 and provider:
            metrics.hops.labels("forbidden").inc()
        elif response.status_code == 200 and not g.get(_OBSERVED):
            metrics.unanswered()
    return response
