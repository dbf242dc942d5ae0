"""The OpenAPI document: valid 3.1, covers every route, matches real answers."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.api.conftest import listing, producer


@pytest.fixture
def document(gateway) -> dict:
    response = gateway.http.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_api_route_and_method_is_described(gateway, document):
    app = gateway.http.application
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routed |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert len(routed) >= 11
    assert routed == described  # every route described, nothing described that does not exist


def test_security_is_bearer_everywhere_but_the_document(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearerAuth": []}]
    public = [(path, method) for path, item in document["paths"].items()
              for method, op in item.items() if op.get("security") == []]
    assert public == [("/api/v1/openapi.json", "get")]


def _validator(document: dict, schema_name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return Draft202012Validator(schema)


def _check(document: dict, schema_name: str, instance) -> None:
    errors = sorted(_validator(document, schema_name).iter_errors(instance), key=str)
    assert not errors, [e.message for e in errors]


def test_real_answers_match_the_described_schemas(gateway, api, document):
    with gateway.db.session() as s:
        seller = producer(s)
        listing(s, seller, "parchment_coffee", quantity=30, price=3100, grade="A")
        code = listing(s, seller, quantity=20).code
    for item in api.get("/api/v1/listings").get_json()["data"]:
        _check(document, "Listing", item)
    for item in api.get("/api/v1/products").get_json()["data"]:
        _check(document, "Product", item)
    request_body = {"listing": code, "quantity": 5, "buyer": {"name": "Shop", "phone": None}}
    _check(document, "OrderRequest", request_body)
    placed = api.order(request_body)
    assert placed.status_code == 201
    _check(document, "Order", placed.get_json())
    cancelled = api.post(f"/api/v1/orders/{placed.get_json()['code']}/cancel").get_json()
    _check(document, "Order", cancelled)
    _check(document, "Error", api.post(f"/api/v1/orders/{cancelled['code']}/cancel").get_json())


def test_the_schemas_would_catch_a_wrong_answer(document):
    # The check above is only worth something if the schemas are strict enough.
    bad = {"code": "12", "status": "shipped"}
    assert list(_validator(document, "Order").iter_errors(bad))
