"""`GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the buyer API,
generated from the models the API validates with and answers through.

`OPERATIONS` names, for each route, the `inputs` models its view runs
(headers, query, path, body) and the `outputs` models it answers with; the
document is those models' own JSON schema (pydantic's), assembled: bodies and
answers as `components/schemas`, header, query and path models expanded into
parameters. So a rule the server checks is a rule the document states; a test
sends requests generated from this document to the server to prove it.

Built once per process (cached). A test checks that every route under
/api/v1 appears here: add a route, add its `Operation`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api import inputs, outputs
from gateway.api.blueprint import PREFIX, bp
from gateway.api.validation import BODY_MAX

REF = "#/components/"
_ERRORS = {
    "400": ("BadRequest", "malformed JSON, a bad query parameter or cursor, a missing or "
                          "malformed Idempotency-Key (the header or parameter in `field`)"),
    "401": ("Unauthorized", "no API key, or an unknown or revoked one "
                            "(with a WWW-Authenticate: Bearer header)"),
    "404": ("NotFound", "no such listing, order, want or webhook (orders, wants and webhooks: "
                        "only your key's)"),
    "405": ("MethodNotAllowed", "the route exists but not with this method"),
    "409": ("Conflict", "out_of_stock (with `available`), order_closed (with `status`), "
                        "own_listing (the buyer's phone is the seller's), too_many_webhooks, "
                        "want_closed (with `status`)"),
    "411": ("LengthRequired", "a chunked body the server could not read; send a "
                              "Content-Length"),
    "413": ("PayloadTooLarge", f"the body is over {BODY_MAX // 1024} KiB, with or without a "
                               f"Content-Length"),
    "415": ("UnsupportedMediaType", "the body is not application/json"),
    "422": ("Unprocessable", "the body breaks its schema: `unknown_field`, or "
                             "`invalid_<field>` with the dotted path in `field`; or the "
                             "Idempotency-Key was used with a different request "
                             "(idempotency_key_reused); or a webhook URL Isoko will not "
                             "deliver to (url_not_allowed: not https, or a private address)"),
    "500": ("InternalError", "a fault on our side; nothing about the request"),
}


@dataclass(frozen=True)
class Answer:
    status: str
    model: type[BaseModel] | None
    description: str
    headers: dict | None = None


@dataclass(frozen=True)
class Operation:
    """One route: what its view validates and what it answers."""

    method: str
    path: str
    operation_id: str
    summary: str
    answers: tuple[Answer, ...]
    errors: tuple[str, ...] = ()
    description: str | None = None
    headers: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    public: bool = False


_LOCATION = {"Location": {"description": "the order's URL", "schema": {"type": "string"}}}
_WEBHOOK_LOCATION = {"Location": {"description": "the webhook's URL",
                                  "schema": {"type": "string"}}}
_WANT_LOCATION = {"Location": {"description": "the want's URL", "schema": {"type": "string"}}}
_SIGNATURE = {"name": "Isoko-Signature", "in": "header", "required": True,
              "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with '
                             "the webhook's secret>",
              "schema": {"type": "string"}}
_DELIVERY = {"name": "Isoko-Delivery", "in": "header", "required": True,
             "description": "this delivery's id (one per event and webhook)",
             "schema": {"type": "string"}}
OPERATIONS = (
    Operation("get", "/listings", "listListings",
              "Active listings, newest first, a page at a time",
              (Answer("200", outputs.ListingPage, "a page of listings"),),
              ("400", "401", "500"), query=inputs.ListingsQuery),
    Operation("get", "/products", "listProducts",
              "The product catalogue: names in Kinyarwanda, English, French",
              (Answer("200", outputs.ProductList, "the active products"),), ("401", "500")),
    Operation("post", "/orders", "placeOrder",
              "Order from a listing; the seller answers by USSD",
              (Answer("201", outputs.Order, "the order this Idempotency-Key placed (now or "
                                            "earlier)", _LOCATION),),
              ("400", "401", "404", "409", "411", "413", "415", "422", "500"),
              description="Reserves the quantity until the seller accepts or rejects, or the "
                          "order expires. With buyer.phone, the buyer is told by SMS; that "
                          "phone may not be the seller's (409 own_listing). "
                          "Idempotent: repeating a request with the same Idempotency-Key "
                          "answers as the first call did (201, Location, the same order as it "
                          "is now) and does nothing twice; the same key with a different body "
                          "is a 422.",
              headers=inputs.OrderHeaders, body=inputs.OrderRequest),
    Operation("get", "/orders", "listOrders",
              "Your key's orders, newest first, a page at a time",
              (Answer("200", outputs.OrderPage, "a page of orders"),), ("400", "401", "500"),
              query=inputs.OrdersQuery),
    Operation("get", "/orders/{code}", "getOrder", "An order's state and history",
              (Answer("200", outputs.Order, "the order"),), ("401", "404", "500"),
              path_params=inputs.OrderPath),
    Operation("post", "/orders/{code}/received", "confirmReceived",
              "The buyer has the goods: an accepted order becomes delivered",
              (Answer("200", outputs.Order, "the delivered order"),),
              ("401", "404", "409", "500"), path_params=inputs.OrderPath),
    Operation("post", "/orders/{code}/cancel", "cancelOrder",
              "Cancel a pending order; its quantity goes back on sale",
              (Answer("200", outputs.Order, "the cancelled order"),),
              ("401", "404", "409", "500"), path_params=inputs.OrderPath),
    Operation("post", "/webhooks", "createWebhook",
              "Subscribe a URL to your orders' changes",
              (Answer("201", outputs.WebhookCreated, "the webhook, with its signing secret "
                                                     "(shown only now)", _WEBHOOK_LOCATION),),
              ("400", "401", "409", "411", "413", "415", "422", "500"),
              description="Every change of an order placed with your key, of a type in "
                          "`events`, is POSTed to `url` as JSON (see `webhooks` "
                          "orderChanged), signed with the secret. 2xx is delivered; anything "
                          "else is retried with exponential backoff for up to 24 hours.",
              body=inputs.WebhookRequest),
    Operation("get", "/webhooks", "listWebhooks", "Your key's webhooks",
              (Answer("200", outputs.WebhookList, "the webhooks, oldest first"),),
              ("401", "500")),
    Operation("get", "/webhooks/{id}", "getWebhook", "A webhook",
              (Answer("200", outputs.Webhook, "the webhook"),), ("401", "404", "500"),
              path_params=inputs.WebhookPath),
    Operation("delete", "/webhooks/{id}", "deleteWebhook",
              "Stop a webhook; its pending deliveries are cancelled",
              (Answer("204", None, "deleted"),), ("401", "404", "500"),
              path_params=inputs.WebhookPath),
    Operation("post", "/wants", "postWant",
              "Post a want (buy request): sellers of matching listings hear of it",
              (Answer("201", outputs.Want, "the want this Idempotency-Key posted (now or "
                                           "earlier)", _WANT_LOCATION),),
              ("400", "401", "411", "413", "415", "422", "500"),
              description="A listing matches when it is the same product and grade (any "
                          "grade when `grade` is null), its price is at most `max_price`, its "
                          "seller is in `district` (anywhere when null), and the want is "
                          "open. After the want is saved, the sellers whose listings already "
                          "match are told by SMS (at most 10, cheapest first); each listing "
                          "put on sale later that matches is added to `matches`. With "
                          "`phone`, that number gets an SMS for each match (the listing's "
                          "USSD dial string); without one nothing is sent and no webhook "
                          "fires: read `matches`. Idempotent like POST /orders.",
              headers=inputs.WantHeaders, body=inputs.WantRequest),
    Operation("get", "/wants", "listWants",
              "Your key's wants, newest first, a page at a time",
              (Answer("200", outputs.WantPage, "a page of wants"),), ("400", "401", "500"),
              query=inputs.WantsQuery),
    Operation("get", "/wants/{id}", "getWant", "A want and the listings it matched",
              (Answer("200", outputs.Want, "the want"),), ("401", "404", "500"),
              path_params=inputs.WantPath),
    Operation("post", "/wants/{id}/close", "closeWant",
              "Close an open want: no more matches",
              (Answer("200", outputs.Want, "the closed want"),), ("401", "404", "409", "500"),
              path_params=inputs.WantPath),
    Operation("post", "/wants/{id}/fulfil", "fulfilWant",
              "Mark an open want fulfilled (you found what you wanted): no more matches",
              (Answer("200", outputs.Want, "the fulfilled want"),), ("401", "404", "409", "500"),
              path_params=inputs.WantPath),
    Operation("get", "/openapi.json", "getOpenApi", "This document",
              (Answer("200", None, "the OpenAPI document"),), public=True),
)


def _schemas() -> tuple[dict, dict]:
    """Components and, per (model, mode), the reference to it."""
    pairs = {(op.body, "validation") for op in OPERATIONS if op.body}
    pairs |= {(a.model, "serialization") for op in OPERATIONS for a in op.answers if a.model}
    pairs.add((outputs.Error, "serialization"))
    pairs.add((outputs.WebhookEvent, "serialization"))
    refs, top = models_json_schema(sorted(pairs, key=lambda p: p[0].__name__),
                                   ref_template=REF + "schemas/{model}")
    return refs, top.get("$defs", {})


def _not_null(schema: dict) -> dict:
    # A header or parameter is absent, never null: drop pydantic's null branch.
    options = [s for s in schema.pop("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        schema = {**options[0], **schema}
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _inlined(schema: dict, defs: dict) -> dict:
    """`schema` with its references to the model's own $defs (an enum) copied
    in: a parameter's schema stands alone in the document."""
    if "$ref" in schema:
        target = defs[schema.pop("$ref").rpartition("/")[2]]
        schema = {**{k: v for k, v in target.items() if k != "title"}, **schema}
    if "anyOf" in schema:
        schema["anyOf"] = [_inlined(dict(option), defs) for option in schema["anyOf"]]
    return schema


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict]:
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    params = []
    defs = schema.get("$defs", {})
    for name, prop in schema["properties"].items():
        prop = _not_null(_inlined(dict(prop), defs))
        prop.pop("title", None)
        params.append({"name": name, "in": where, "required": name in required,
                       "description": prop.pop("description", ""), "schema": prop})
    return params


def _content(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(op: Operation, refs: dict) -> dict:
    answers = {}
    for answer in op.answers:
        if answer.status == "204":
            answers[answer.status] = {"description": answer.description}
            continue
        schema = refs[(answer.model, "serialization")] if answer.model else {"type": "object"}
        answers[answer.status] = {**_content(schema, answer.description),
                                  **({"headers": answer.headers} if answer.headers else {})}
    answers |= {status: {"$ref": f"{REF}responses/{_ERRORS[status][0]}"}
                for status in op.errors}
    item = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        item["description"] = op.description
    parameters = (_parameters(op.path_params, "path") + _parameters(op.query, "query")
                  + _parameters(op.headers, "header"))
    if parameters:
        item["parameters"] = parameters
    if op.body:
        item["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[(op.body, "validation")]}}}
    if op.public:
        item["security"] = []
    item["responses"] = answers
    return item


@cache
def document() -> dict:
    """The OpenAPI 3.1 document (built once)."""
    refs, schemas = _schemas()
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(PREFIX + op.path, {})[op.method] = _operation(op, refs)
    error = refs[(outputs.Error, "serialization")]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Isoko buyer API",
            "version": "1.0.0",
            "description": "Listings of Rwanda's small producers, and orders against them. "
                           "Money is in whole RWF. Every error is "
                           '{"error": {"code", "message", ...}}.',
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "webhooks": {"orderChanged": {"post": {
            "summary": "An order placed with your key changed (what Isoko POSTs to you)",
            "parameters": [_SIGNATURE, _DELIVERY],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": refs[(outputs.WebhookEvent, "serialization")]}}},
            "responses": {"200": {"description": "any 2xx: delivered; anything else or no "
                                                 "answer within the timeout: retried"}},
        }}},
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "isk_<prefix>_<secret>",
                "description": "an API key from `gateway apikeys create NAME`"}},
            "schemas": schemas,
            "responses": {name: _content(error, description)
                          for name, description in _ERRORS.values()},
        },
    }


@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    return jsonify(document())
