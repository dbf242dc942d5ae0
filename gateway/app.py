"""The app factory: the only place a Flask app is built. No IO at import."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import redis
from flask import Flask, jsonify

from gateway import api, console, menustore, metrics, redis_conn, simulator, sms_callbacks
from gateway.db import Database
from gateway.settings import Settings
from gateway.ussd import events as ussd_events
from gateway.ussd import views as ussd_views
from gateway.ussd.hop import UssdService
from gateway.ussd.sessions import SessionStore
from menus.loader import MenuCache
from workers import queues

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request may use, built once per app."""

    settings: Settings
    db: Database
    redis: redis.Redis
    store: SessionStore
    menus: MenuCache
    ussd: UssdService


def build_services(settings: Settings, redis_client: redis.Redis | None = None) -> Services:
    """Connections and services for `settings` (no IO yet: clients connect lazily)."""
    db = Database(settings.database_url)
    client = redis_client if redis_client is not None else redis_conn.connect(settings.redis_url)
    store = SessionStore(client, settings.session_ttl_seconds, settings.resume_ttl_seconds)
    cache = MenuCache(menustore.CAPABILITIES)
    ussd = UssdService(store, db, cache, lambda message_id, pipe=None: queues.enqueue_sms(client, message_id, pipe),
                       service_code=settings.ussd_service_code,
                       order_ttl=timedelta(minutes=settings.order_ttl_minutes))
    return Services(settings, db, client, store, cache, ussd)


def bootstrap(services: Services) -> list[str]:
    """First start: schema, reference data and demo catalogue, shipped menus.
    Idempotent. Returns the menus it published."""
    from gateway.seed import seed

    services.db.upgrade()
    with services.db.session() as s:
        seed(s)
        published = menustore.ensure_shipped(s)
    with services.db.session() as s:
        for version in menustore.versions(s):
            current = menustore.head(s, version.name)
            if current is not None:
                services.store.set_head(version.name, current)
    return published


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """A configured app. Without arguments, settings come from the environment
    in "web" mode (SECRET_KEY required: several processes must share it)."""
    if services is None:
        services = build_services(settings or Settings.from_env(mode="web"))
    app = Flask(__name__)
    app.config["SECRET_KEY"] = services.settings.secret_key
    app.extensions["isoko"] = services
    for blueprint in (ussd_views.bp, ussd_events.bp, sms_callbacks.bp, api.bp, console.bp,
                      simulator.bp, metrics.bp):
        app.register_blueprint(blueprint)
    _install_token_check(app, services.settings.callback_token)

    @app.get("/healthz")
    def healthz():
        state = {"redis": _redis_ok(services.redis), "database": services.db.ping()}
        return jsonify(state), 200 if all(state.values()) else 503

    return app


def _redis_ok(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _install_token_check(app: Flask, token: str | None) -> None:
    """With CALLBACK_TOKEN set, every /at/ request must carry ?token=<value>."""
    if not token:
        return
    import hmac

    from flask import request

    @app.before_request
    def check_token():
        if request.path.startswith("/at/"):
            given = request.args.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return ("forbidden", 403, {"Content-Type": "text/plain"})
        return None
