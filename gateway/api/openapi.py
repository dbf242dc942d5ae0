"""`GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the buyer API.

Built in code once per process (cached). A test validates it and checks that
every route under /api/v1 appears in it: add a route, describe it here.
"""
from __future__ import annotations

from functools import cache

from flask import jsonify

from gateway.api.blueprint import PREFIX, bp
from gateway.api.listings import LIMIT_DEFAULT, LIMIT_MAX
from gateway.api.orders import BUYER_NAME_MAX, IDEMPOTENCY_KEY_MAX
from gateway.market.rules import QUANTITY_MAX, QUANTITY_MIN

REF = "#/components/"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"{REF}{kind}/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return {"$ref": f"{REF}responses/{description}"}


_TIME = {"type": "string", "format": "date-time", "examples": ["2025-03-01T09:30:00Z"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NAMES = {
    "type": "object",
    "required": ["rw", "en", "fr"],
    "properties": {lang: {"type": "string"} for lang in ("rw", "en", "fr")},
}
_PRODUCT_REF = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {"code": {"type": "string", "examples": ["coffee_cherry"]},
                   "name": {"type": "string", "description": "English name"}},
}
_CODE = {"type": "string", "pattern": "^[1-9][0-9]{5}$", "examples": ["482113"]}


def _schemas() -> dict:
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable, machine-readable",
                             "examples": ["out_of_stock"]},
                    "message": {"type": "string", "description": "for humans"},
                    "field": {"type": "string", "description": "the offending field or parameter",
                              "examples": ["quantity", "buyer.phone"]},
                    "available": {"type": "integer",
                                  "description": "out_of_stock: what is left to order"},
                    "status": {"type": "string", "description": "order_closed: the order's status"},
                    "order": {"type": "string",
                              "description": "idempotency_key_reused: the order the key made"},
                },
                "additionalProperties": True,
            }},
        },
        "Product": {
            "type": "object",
            "required": ["code", "names", "unit", "grades", "reference_price", "currency"],
            "properties": {
                "code": {"type": "string"},
                "names": _NAMES,
                "unit": {"type": "string", "enum": ["kg", "piece"]},
                "grades": {"type": "array", "items": {
                    "type": "object", "required": ["code", "names"],
                    "properties": {"code": {"type": "string"}, "names": _NAMES}}},
                "reference_price": {"type": "integer", "description": "RWF per unit, indicative"},
                "currency": {"const": "RWF"},
            },
        },
        "Listing": {
            "type": "object",
            "required": ["code", "product", "grade", "quantity", "unit", "unit_price", "currency",
                         "district", "updated_at"],
            "properties": {
                "code": _CODE,
                "product": _PRODUCT_REF,
                "grade": {"type": ["string", "null"]},
                "quantity": {"type": "integer", "minimum": 1},
                "unit": {"type": "string", "enum": ["kg", "piece"]},
                "unit_price": {"type": "integer", "description": "RWF per unit"},
                "currency": {"const": "RWF"},
                "district": {"type": "string"},
                "updated_at": _TIME,
            },
        },
        "OrderRequest": {
            "type": "object",
            "required": ["listing", "quantity", "buyer"],
            "additionalProperties": False,
            "properties": {
                "listing": {**_CODE, "description": "the listing's code"},
                "quantity": {"type": "integer", "minimum": QUANTITY_MIN, "maximum": QUANTITY_MAX},
                "buyer": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": BUYER_NAME_MAX},
                        "phone": {"type": ["string", "null"],
                                  "description": "gets SMS updates when given; Rwandan numbers "
                                                 "may be national (0788...)",
                                  "examples": ["+250788123456"]},
                    },
                },
            },
        },
        "OrderEvent": {
            "type": "object",
            "required": ["status", "at", "actor"],
            "properties": {"status": _ref("schemas", "OrderStatus"), "at": _TIME,
                           "actor": {"type": "string", "examples": ["api", "seller", "buyer",
                                                                    "system"]}},
        },
        "OrderStatus": {"type": "string",
                        "enum": ["pending", "accepted", "rejected", "expired", "cancelled"]},
        "Order": {
            "type": "object",
            "required": ["code", "status", "listing", "product", "grade", "quantity", "unit",
                         "unit_price", "total", "currency", "buyer", "created_at", "expires_at",
                         "answered_at", "history"],
            "properties": {
                "code": _CODE,
                "status": _ref("schemas", "OrderStatus"),
                "listing": _CODE,
                "product": _PRODUCT_REF,
                "grade": {"type": ["string", "null"]},
                "quantity": {"type": "integer"},
                "unit": {"type": "string", "enum": ["kg", "piece"]},
                "unit_price": {"type": "integer"},
                "total": {"type": "integer"},
                "currency": {"const": "RWF"},
                "buyer": {"type": "object", "required": ["name", "phone"],
                          "properties": {"name": {"type": ["string", "null"]},
                                         "phone": {"type": ["string", "null"]}}},
                "created_at": _TIME,
                "expires_at": {**_TIME, "description": "unanswered orders expire then"},
                "answered_at": _NULLABLE_TIME,
                "history": {"type": "array", "items": _ref("schemas", "OrderEvent")},
            },
        },
    }


def _responses() -> dict:
    error = _ref("schemas", "Error")
    return {
        name: _json(error, description) for name, description in {
            "BadRequest": "malformed JSON, a bad query parameter or cursor, a missing "
                          "or malformed Idempotency-Key",
            "Unauthorized": "no API key, or an unknown or revoked one "
                            "(with a WWW-Authenticate: Bearer header)",
            "NotFound": "no such listing or order (orders: only those placed with your key)",
            "MethodNotAllowed": "the route exists but not with this method",
            "Conflict": "out_of_stock (with `available`) or order_closed (with `status`)",
            "PayloadTooLarge": "the body is over 16 KiB",
            "UnsupportedMediaType": "the body is not application/json",
            "Unprocessable": "a field is invalid (named in `field`), or the Idempotency-Key "
                             "was used with a different request (idempotency_key_reused)",
            "InternalError": "a fault on our side; nothing about the request",
        }.items()
    }


def _common(*codes: str) -> dict:
    names = {"400": "BadRequest", "401": "Unauthorized", "404": "NotFound",
             "405": "MethodNotAllowed", "409": "Conflict", "413": "PayloadTooLarge",
             "415": "UnsupportedMediaType", "422": "Unprocessable", "500": "InternalError"}
    return {code: _error(names[code]) for code in codes}


def _paths() -> dict:
    code_param = {"name": "code", "in": "path", "required": True, "schema": _CODE,
                  "description": "the order's code"}
    order = _ref("schemas", "Order")

    def query(name: str, schema: dict, description: str) -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": description}

    return {
        f"{PREFIX}/listings": {"get": {
            "operationId": "listListings",
            "summary": "Active listings, newest first, a page at a time",
            "parameters": [
                query("product", {"type": "string"}, "a product code (see /products)"),
                query("district", {"type": "string"}, "a district name, any case"),
                query("min_quantity", {"type": "integer", "minimum": 0},
                      "only listings with at least this quantity left"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX,
                                "default": LIMIT_DEFAULT}, "page size"),
                query("cursor", {"type": "string"},
                      "next_cursor from the previous page; keep the same filters"),
            ],
            "responses": {
                "200": _json({"type": "object", "required": ["data", "next_cursor"],
                              "properties": {
                                  "data": {"type": "array", "items": _ref("schemas", "Listing")},
                                  "next_cursor": {"type": ["string", "null"],
                                                  "description": "null on the last page"}}},
                             "a page of listings"),
                **_common("400", "401", "500"),
            },
        }},
        f"{PREFIX}/products": {"get": {
            "operationId": "listProducts",
            "summary": "The product catalogue: names in Kinyarwanda, English, French",
            "responses": {
                "200": _json({"type": "object", "required": ["data"], "properties": {
                    "data": {"type": "array", "items": _ref("schemas", "Product")}}},
                    "the active products"),
                **_common("401", "500"),
            },
        }},
        f"{PREFIX}/orders": {"post": {
            "operationId": "placeOrder",
            "summary": "Order from a listing; the seller answers by USSD",
            "description": "Reserves the quantity until the seller accepts or rejects, or the "
                           "order expires. With buyer.phone, the buyer is told by SMS. "
                           "Idempotent: repeating a request with the same Idempotency-Key "
                           "returns the first order (200) and does nothing twice; the same key "
                           "with a different body is a 422.",
            "parameters": [{
                "name": "Idempotency-Key", "in": "header", "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
                "description": "your unique id for this order, e.g. a UUID; scoped to your key",
            }],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("schemas", "OrderRequest")}}},
            "responses": {
                "201": {**_json(order, "the order, placed now"), "headers": {
                    "Location": {"description": "the order's URL",
                                 "schema": {"type": "string"}}}},
                "200": _json(order, "the order this Idempotency-Key placed earlier"),
                **_common("400", "401", "404", "409", "413", "415", "422", "500"),
            },
        }},
        f"{PREFIX}/orders/{{code}}": {"get": {
            "operationId": "getOrder",
            "summary": "An order's state and history",
            "parameters": [code_param],
            "responses": {"200": _json(order, "the order"), **_common("401", "404", "500")},
        }},
        f"{PREFIX}/orders/{{code}}/cancel": {"post": {
            "operationId": "cancelOrder",
            "summary": "Cancel a pending order; its quantity goes back on sale",
            "parameters": [code_param],
            "responses": {"200": _json(order, "the cancelled order"),
                          **_common("401", "404", "409", "500")},
        }},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "the OpenAPI document",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}}},
        }},
    }


@cache
def document() -> dict:
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
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "isk_<prefix>_<secret>",
                "description": "an API key from `gateway apikeys create NAME`"}},
            "schemas": _schemas(),
            "responses": _responses(),
        },
    }


@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    return jsonify(document())
