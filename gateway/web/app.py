"""The app factory: the only place a Flask app is built. No IO at import."""
from __future__ import annotations

import logging

import redis
from flask import Flask, jsonify
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

from gateway import api, console
from gateway.channels.africastalking import sms as sms_callbacks
from gateway.channels.africastalking import ussd as ussd_views
from gateway.channels.africastalking import ussd_events
from gateway.channels.momo import callback as momo_callbacks
from gateway.core.settings import Settings
from gateway.ussd import menustore
from gateway.web import callbacks_guard, guards, health, metrics, simulator, ussd_fast
from gateway.web.services import Services, build_services

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """A configured app. Without arguments, settings come from the environment
    in "web" mode (SECRET_KEY required: several processes must share it)."""
    if services is None:
        services = build_services(settings or Settings.from_env(mode="web"))
    app = Flask("gateway")  # templates and static files live in gateway/templates, gateway/static
    # "//" in a path is not a route: a 404, never a 308 to another URL (set
    # before the routes, which take it when they are added).
    app.url_map.merge_slashes = False
    app.config["SECRET_KEY"] = services.settings.secret_key
    app.config["SESSION_COOKIE_SECURE"] = services.settings.access.cookie_secure
    app.extensions["isoko"] = services
    csrf = CSRFProtect(app)
    for blueprint in (ussd_views.bp, ussd_events.bp, sms_callbacks.bp, momo_callbacks.bp, api.bp,
                      simulator.bp, metrics.bp):
        app.register_blueprint(blueprint)
    # What the USSD service reports to and dials besides the published menus:
    # set here, explicitly, not by the blueprints as they register.
    gateway_metrics = metrics.init_app(app, services)
    services.ussd.observe = gateway_metrics.observe
    services.ussd.drafts = simulator.DraftMenus(services)
    console.init_app(app, services, cookieless=guards.PROVIDER_PREFIXES)  # machines keep no cookie
    # No CSRF token from machines: the providers (?token=, MTN's callback), buyer platforms
    # (bearer keys), Prometheus; the simulator's POST asks for it itself unless local.
    for exempt in (ussd_views.bp, ussd_events.bp, sms_callbacks.bp, momo_callbacks.bp, api.bp, metrics.bp,
                   simulator.ussd):
        csrf.exempt(exempt)
    ussd_fast.install(app, services, gateway_metrics)  # ordinary hops skip Flask's cycle; inside ProxyFix
    callbacks_guard.install(app, services.settings)
    guards.install(app, services.settings)  # runs first: before the callback guard and CSRF

    probes = health.Probes({("redis",): lambda: {"redis": _redis_ok(services.redis)},
                            ("database", "menu"): lambda: _database_state(services)})

    @app.get("/healthz")
    def healthz():
        state = probes.run()  # within health.TIMEOUT_SECONDS, whatever the servers do
        return jsonify(state), 200 if all(state.values()) else 503

    return app


def _database_state(services: Services) -> dict[str, bool]:
    """The database answers, and the hops' menu is published there."""
    up = services.db.ping()
    return {"database": up, "menu": up and _menu_published(services)}


def _menu_published(services: Services) -> bool:
    """Whether the menu the hops run on has a published version (else every
    dial would get the polite error)."""
    try:
        with services.db.session() as s:
            return menustore.head(s, services.ussd.menu_name) is not None
    except SQLAlchemyError:
        return False


def _redis_ok(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
