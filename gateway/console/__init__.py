"""The operator console under /admin: log-in, menus, SMS texts, audit, operators.

Server-rendered pages (templates in `gateway/templates/console/`, CSS and a
little JavaScript in `gateway/static/console/`). Every view needs a logged-in
operator (see `auth.requires`); every unsafe request needs a CSRF token.
Registering the blueprint also sets the app's session cookie up for the
console: HttpOnly, SameSite=Lax, Secure whenever the request came over HTTPS
(behind a TLS-terminating proxy, wrap the app in werkzeug's ProxyFix).
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, has_request_context, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface

bp = Blueprint("console", __name__, url_prefix="/admin")

# Endpoints a visitor may reach without logging in.
PUBLIC_ENDPOINTS = frozenset({"console.login"})
SESSION_LIFETIME = timedelta(hours=12)


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure when the request is HTTPS
    (or always, with SESSION_COOKIE_SECURE)."""

    def get_cookie_secure(self, app) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


@bp.record_once
def _setup(state) -> None:
    app = state.app
    if app.config.get("SESSION_COOKIE_NAME") == "session":  # Flask's default name
        app.config["SESSION_COOKIE_NAME"] = "isoko_console"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = ConsoleSessionInterface()
    from gateway.console.auth import csrf_field, current_operator
    from gateway.console.nav import console_nav
    from gateway.console.present import register_filters

    app.add_template_global(csrf_field, "csrf_field")
    app.add_template_global(current_operator, "current_operator")
    app.add_template_global(console_nav, "console_nav")
    register_filters(app)


@bp.before_request
def _guard():
    from gateway.console.auth import check_csrf, current_operator, login_required_response
    check_csrf()
    if request.endpoint not in PUBLIC_ENDPOINTS and current_operator() is None:
        return login_required_response()
    return None


@bp.after_request
def _headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error(code: int, title: str):
    def handler(exc):
        description = getattr(exc, "description", None) or title
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return jsonify({"error": title, "detail": description}), code
        return render_template("console/error.html", code=code, title=title, detail=description), code
    return handler


for _code, _title in ((400, "Bad request"), (401, "Please log in"), (403, "Not allowed"),
                      (404, "Not found"), (409, "Conflict")):
    bp.register_error_handler(_code, _error(_code, _title))


from gateway.console import views_auth, views_menus, views_sms, views_admin  # noqa: E402,F401,I001
from gateway.console import views_market, views_dashboard  # noqa: E402,F401,I001
