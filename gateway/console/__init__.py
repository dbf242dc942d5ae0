"""The operator console under /admin, by area: log-in (`access`), menus, SMS
texts, market (with the dashboard), admin (audit, operators).

Server-rendered pages (templates in `gateway/templates/console/`, CSS and a
little JavaScript in `gateway/static/console/`). Every view needs a logged-in
operator (`auth.requires`); every form is a Flask-WTF form, and every unsafe
request needs a CSRF token, checked once by the app's `CSRFProtect`.

The app calls `init_app(app, services)` once; it registers the blueprint and
sets the app up for the console (see `cookies`).
"""
from __future__ import annotations

from flask import Flask

# Importing an area adds its views to `bp`.
from gateway.console import access, admin, market, menus, sms_texts  # noqa: F401
from gateway.console import cookies
from gateway.console.auth import current_operator
from gateway.console.blueprint import bp
from gateway.console.nav import console_nav
from gateway.console.present import register_filters

__all__ = ["bp", "init_app"]


def init_app(app: Flask, services, *, cookieless: tuple[str, ...] = ()) -> None:
    """Register the console on `app`: the blueprint, the session cookie (none
    for paths under a `cookieless` prefix), the template globals
    (`current_operator`, `console_nav`) and filters.

    The app must have a `CSRFProtect` (the console's forms rely on it) and
    `app.extensions["isoko"]` set to `services`. Call once per app."""
    cookies.configure(app, cookieless)
    app.add_template_global(current_operator, "current_operator")
    app.add_template_global(console_nav, "console_nav")
    register_filters(app)
    app.register_blueprint(bp)
