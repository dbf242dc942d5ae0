"""The console's session cookie: HttpOnly, SameSite=Lax, and Secure whenever
the request came over HTTPS (behind a TLS-terminating proxy, wrap the app in
werkzeug's ProxyFix so Flask knows)."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

SESSION_LIFETIME = timedelta(hours=12)
COOKIE_NAME = "isoko_console"
# A CSRF token lives as long as the operator's session (an editor may keep a
# draft open for hours); the token is tied to the session cookie anyway.
CSRF_TIME_LIMIT = int(SESSION_LIFETIME.total_seconds())


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure when the request is HTTPS
    (or always, with SESSION_COOKIE_SECURE). Requests under a `cookieless`
    prefix (the providers' callbacks: machines that keep no cookie) get
    Flask's null session: nothing is verified or signed for them, which
    was a tenth of a USSD hop's time in the gateway's process."""

    def __init__(self, cookieless: tuple[str, ...] = ()):
        self.cookieless = cookieless

    def open_session(self, app, request):
        if self.cookieless and request.path.startswith(self.cookieless):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


def configure(app: Flask, cookieless: tuple[str, ...] = ()) -> None:
    """Set the app's session cookie and CSRF token lifetime up for the console;
    paths under a `cookieless` prefix get no session at all. A cookie name
    or session interface the app chose itself is kept."""
    if app.config.get("SESSION_COOKIE_NAME") == "session":  # Flask's default name
        app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    app.config["WTF_CSRF_TIME_LIMIT"] = CSRF_TIME_LIMIT
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = ConsoleSessionInterface(cookieless)
