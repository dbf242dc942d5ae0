"""The services a process runs on, built once from one `Settings`: the
database, Redis, the USSD session store, the menu cache and the hop service.
`build_services` does no IO (clients connect lazily); `bootstrap` is the first
start's (and the release step's) schema, reference data and shipped menus."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import redis

from gateway.core import redis_conn
from gateway.core.db import Database, pool_limits
from gateway.core.settings import Settings
from gateway.market.seed import seed
from gateway.payments import jobs as payment_jobs
from gateway.sms import queue as queues
from gateway.sms import texts as smstexts
from gateway.ussd import menustore
from gateway.ussd.budget import BoundedHops
from gateway.ussd.hop import UssdService
from gateway.ussd.sessions import SessionStore
from menus.loader import MenuCache


@dataclass
class Services:
    """Everything a request may use, built once per app."""

    settings: Settings
    db: Database
    redis: redis.Redis
    store: SessionStore
    menus: MenuCache
    ussd: UssdService
    sms_texts: smstexts.PublishedSmsTexts  # what every session of `db` renders SMS with
    hops: BoundedHops  # `ussd` within USSD_HOP_BUDGET_SECONDS: what the provider's callback calls


def build_services(settings: Settings, redis_client: redis.Redis | None = None) -> Services:
    """Connections and services for `settings` (no IO yet: clients connect lazily)."""
    bounds = settings.bounds
    db = Database(settings.database_url, pool_limits(settings), pg_connect_args=bounds.pg_connect_args())
    sms_texts = smstexts.use_published(db)
    client = redis_client if redis_client is not None else redis_conn.client_for(
        settings, connect_timeout=bounds.redis_connect_timeout_ms / 1000,
        socket_timeout=bounds.redis_socket_timeout_ms / 1000)
    store = SessionStore(client, settings.session_ttl_seconds, settings.resume_ttl_seconds)
    cache = MenuCache(menustore.CAPABILITIES)
    ussd = UssdService(store, db, cache, lambda message_id, pipe=None: queues.enqueue_sms(client, message_id, pipe),
                       service_code=settings.ussd_service_code,
                       order_ttl=timedelta(minutes=settings.order_ttl_minutes), momo=settings.momo,
                       queue_payment=lambda payment_id: payment_jobs.enqueue(client, payment_id),
                       hops_per_minute=settings.access.hops_per_minute)
    return Services(settings, db, client, store, cache, ussd, sms_texts,
                    BoundedHops(ussd, bounds.hop_budget_seconds, round_trip_worst=bounds.redis_round_trip_worst()))


def prepare_database(db: Database) -> list[str]:
    """What a new database needs to answer the first dial, in SQL only (the
    release step runs it, where Redis may not be reachable): the schema, the
    reference data and demo catalogue, and every shipped menu never published
    (the shipped SMS texts need nothing: they are the fallback of every
    render). Idempotent. Returns the menus it published."""
    db.upgrade()
    with db.session() as s:
        seed(s)
        return menustore.ensure_shipped(s)


def bootstrap(services: Services) -> list[str]:
    """First start of `serve`: `prepare_database`, then each menu's head in
    Redis for every process. Returns the menus it published."""
    published = prepare_database(services.db)
    with services.db.session() as s:
        for version in menustore.versions(s):
            current = menustore.head(s, version.name)
            if current is not None:
                services.store.set_head(version.name, current)
    return published
