"""The buyer API under /api/v1: JSON only, `Authorization: Bearer <api key>`.

Importing this package registers every part of the API on `bp` (the app
registers `gateway.api.bp`):

- `blueprint`: the blueprint and the request context helpers;
- `errors`: the error contract; `auth`: the bearer key check;
- `inputs` / `outputs`: the pydantic models of requests and answers, the one
  source of both validation (`validation`) and the OpenAPI document (`openapi`);
- `listings`, `orders`, `wants`, `webhooks`: the routes; `keys`: the API keys service;
- `deliveries`: the webhook jobs (fan-out of the order-event outbox, one
  POST each), with `signing` (Isoko-Signature) and `webhook_urls` (where a
  webhook may point, and how a delivery connects).

The submodules import `gateway.api.blueprint`, never this package, so there
is no cycle.
"""
from __future__ import annotations

from gateway.api import auth, errors, listings, openapi, orders, wants, webhooks  # noqa: F401  (register on bp)
from gateway.api.blueprint import PREFIX, bp

__all__ = ["PREFIX", "bp"]
