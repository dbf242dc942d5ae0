"""Authentication of the buyer API: `Authorization: Bearer <api key>` on every
route but the OpenAPI document; 401 with a `WWW-Authenticate: Bearer`
challenge otherwise (`error="invalid_token"` for a key that is not valid)."""
from __future__ import annotations

from flask import g, request

from gateway.api import keys as apikeys
from gateway.api.blueprint import PUBLIC_ENDPOINTS, bp, services
from gateway.api.errors import error_response


def _unauthorized(message: str, *, invalid: bool):
    challenge = 'Bearer realm="isoko"' + (', error="invalid_token"' if invalid else "")
    return error_response(401, "unauthorized", message, {"WWW-Authenticate": challenge})


@bp.before_request
def authenticate():
    """Sets `g.api_key_id`, or answers 401 before the route runs."""
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
