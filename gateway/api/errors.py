"""The buyer API's error contract.

Every error is `{"error": {"code", "message", ...}}` with a 4xx status, or a
500 with a generic message (and a log line) for a bug — never an HTML page,
never a 500 for bad input. Routes raise `ApiError`; the handlers here turn it,
and any HTTP exception under /api/v1, into that shape.
"""
from __future__ import annotations

import logging
import re

from flask import jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from gateway.api.blueprint import PREFIX, bp

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with: HTTP status, stable code, human message,
    and extra fields (e.g. `field`, `available`)."""

    def __init__(self, http_status: int, code: str, message: str, /, **extra) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message, self.extra = http_status, code, message, extra


def error_response(http_status: int, code: str, message: str, headers: dict | None = None,
                   /, **extra):
    """The (body, status, headers) of an error answer."""
    body = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), http_status, headers or {}


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
