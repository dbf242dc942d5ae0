"""The buyer API's blueprint and what every route reads from the request context.

Every module of the API registers on `bp` from here; `gateway.api` imports
them all, so the blueprint is complete once `gateway.api` is imported. Nothing
here imports a route module, so there is no import cycle.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
# Routes a caller may reach without a key.
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


def services():
    """The app's `Services` (database, Redis, settings)."""
    return current_app.extensions["isoko"]


def api_key_id() -> int:
    """The id of the API key the current request was authenticated with."""
    return g.api_key_id
