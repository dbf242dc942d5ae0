"""The buyer API under /api/v1: JSON only, `Authorization: Bearer <api key>`.

This module holds the blueprint, authentication and the error contract:
every error is `{"error": {"code", "message", ...}}` with a 4xx status, or a
500 with a generic message (and a log line) for a bug — never an HTML page,
never a 500 for bad input. The routes live in `listings`, `orders` and
`openapi`, one concern each.
"""
from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from gateway.api import keys as apikeys

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
# Routes a caller may reach without a key.
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


class ApiError(Exception):
    """An error the API answers with: HTTP status, stable code, human message,
    and extra fields (e.g. `field`, `available`)."""

    def __init__(self, http_status: int, code: str, message: str, /, **extra) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message, self.extra = http_status, code, message, extra


def services():
    """The app's `Services` (database, Redis, settings)."""
    return current_app.extensions["isoko"]


def api_key_id() -> int:
    """The id of the API key the current request was authenticated with."""
    return g.api_key_id


def error_response(http_status: int, code: str, message: str, headers: dict | None = None,
                   /, **extra):
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), http_status, headers or {}


# --- authentication -------------------------------------------------------------


def _unauthorized(message: str, *, invalid: bool):
    challenge = 'Bearer realm="isoko"' + (', error="invalid_token"' if invalid else "")
    return error_response(401, "unauthorized", message, {"WWW-Authenticate": challenge})


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("send your API key as 'Authorization: Bearer <key>'", invalid=False)
    with services().db.session() as s:
        key = apikeys.verify(s, token)
        key_id = key.id if key is not None else None
    if key_id is None:
        return _unauthorized("the API key is not valid or has been revoked", invalid=True)
    g.api_key_id = key_id
    return None


# --- errors ---------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.http_status, exc.code, exc.message, **exc.extra)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name, headers)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("api request failed: %s %s", request.method, request.path)
    return error_response(500, "internal_error",
                          "something went wrong on our side; try again later")


# Requests that match no route (404) or no method (405) are routed before any
# blueprint is known, so blueprint handlers never see them. These app-wide
# handlers answer JSON under /api/v1 and leave every other path as it was.
def _under_api() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


@bp.app_errorhandler(NotFound)
def _routing_not_found(exc: NotFound):
    return _http_error(exc) if _under_api() else exc


@bp.app_errorhandler(MethodNotAllowed)
def _routing_not_allowed(exc: MethodNotAllowed):
    return _http_error(exc) if _under_api() else exc


from gateway.api import listings, openapi, orders  # noqa: E402,F401  (routes register on bp)
