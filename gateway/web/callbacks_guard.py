"""Who may reach the provider callbacks (`/at/*`), and the client's address.

`install(app, settings)` runs once per app, before any view:

- With `TRUSTED_PROXIES` n > 0 the app is wrapped in werkzeug's ProxyFix for
  n proxies, so `request.remote_addr` is the client the proxies saw and
  `request.is_secure` follows `X-Forwarded-Proto`. Without it, forwarding
  headers are ignored: a client cannot pick its own address.
- With `CALLBACK_ALLOW_CIDRS`, an `/at/*` request from any other address gets
  403 before the token is even looked at.
- With `CALLBACK_TOKEN`, an `/at/*` request must carry `?token=<value>`,
  compared in constant time (403 otherwise). `web` cannot start without
  one unless ALLOW_OPEN_CALLBACKS=1 (`gateway.core.access`).
"""
from __future__ import annotations

import hmac

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.core.settings import Settings

CALLBACK_PREFIX = "/at/"
_FORBIDDEN = ("forbidden", 403, {"Content-Type": "text/plain"})


def install(app: Flask, settings: Settings) -> None:
    """Trust the configured proxies and guard `/at/*` (see the module's docstring)."""
    proxies = settings.access.trusted_proxies
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    token, rules = settings.callback_token, settings.access
    if not token and not rules.callback_networks:
        return

    @app.before_request
    def guard_callbacks():
        if not request.path.startswith(CALLBACK_PREFIX):
            return None
        if not admits(settings, request.remote_addr, request.args.get("token", "")):
            return _FORBIDDEN
        return None


def admits(settings: Settings, address: str | None, given_token: str) -> bool:
    """Whether a callback from `address` carrying `?token=given_token` may
    reach `/at/*`: inside CALLBACK_ALLOW_CIDRS (when set) and with the
    CALLBACK_TOKEN (when set), compared in constant time."""
    if not settings.access.callback_allowed(address):
        return False
    token = settings.callback_token
    return not token or hmac.compare_digest(given_token.encode(), token.encode())
