"""The console's one blueprint, `console` under /admin, and what every one of
its requests gets: the log-in check, security headers, error pages.

Area modules (`access`, `menus`, `sms_texts`, `market`, `admin`) import `bp`
from here and add their views to it; `gateway.console.init_app` imports the
areas and registers the blueprint. Endpoint names are `console.<view>`.

CSRF is not checked here: the app's one `CSRFProtect` checks every unsafe
request before any blueprint sees it. A refused token answers 400 with the
console's own page (or JSON), saying what to do.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from gateway.console.auth import current_operator, login_required_response

bp = Blueprint("console", __name__, url_prefix="/admin")

# Endpoints a visitor may reach without logging in.
PUBLIC_ENDPOINTS = frozenset({"console.login"})
CSRF_REFUSED = ("This form has expired or did not come from the console. "
                "Reload the page and try again.")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


@bp.before_request
def _guard():
    if request.endpoint not in PUBLIC_ENDPOINTS and current_operator() is None:
        return login_required_response()
    return None


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error(code: int, title: str, detail: str | None = None):
    """A handler answering `code` with the console's error page, or JSON to a
    client that asks for it; `detail` replaces the exception's description."""
    def handler(exc):
        description = detail or getattr(exc, "description", None) or title
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return jsonify({"error": title, "detail": description}), code
        return render_template("console/error.html", code=code, title=title, detail=description), code
    return handler


for _code, _title in ((400, "Bad request"), (401, "Please log in"), (403, "Not allowed"),
                      (404, "Not found"), (409, "Conflict")):
    bp.register_error_handler(_code, _error(_code, _title))
# CSRFProtect's own wording ("The CSRF token is missing.") means nothing to an operator.
bp.register_error_handler(CSRFError, _error(400, "Bad request", CSRF_REFUSED))
