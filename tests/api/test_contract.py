"""The published document and the server cannot disagree.

Properties: requests are generated from `/api/v1/openapi.json` itself (valid
ones by `from_schema` below, near misses by mutating them), sent to the
real server, and the server's verdict must be the document's: a request the
document accepts is never refused for its shape (400/422), one it refuses
gets the documented error. Then table tests for the cases that used to
disagree.
"""
from __future__ import annotations

import io
import itertools
import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jsonschema import Draft202012Validator

from gateway.api.openapi import document
from gateway.core import phones
from tests.api.conftest import error_of, listing, producer

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
DOC = document()
SHAPE_ERRORS = {400, 422}


def _schema(node: dict) -> dict:
    """`node` made self-contained: its $refs resolve inside the document."""
    return {**node, "components": DOC["components"]}


def _operation(path: str, method: str) -> dict:
    return DOC["paths"]["/api/v1" + path][method]


def _parameter(path: str, method: str, name: str) -> dict:
    return next(p for p in _operation(path, method)["parameters"] if p["name"] == name)


ORDER_BODY = _schema(_operation("/orders", "post")["requestBody"]["content"]
                     ["application/json"]["schema"])
IDEMPOTENCY_KEY = _schema(_parameter("/orders", "post", "Idempotency-Key")["schema"])


# The keywords `from_schema` turns into strategies, and those that carry no
# constraint; any other keyword in the document fails the test (so a new
# constraint can never be silently left out of the generated requests).
_UNDERSTOOD = {"type", "properties", "required", "additionalProperties", "anyOf", "$ref",
               "pattern", "minLength", "maxLength", "minimum", "maximum", "default", "enum",
               "items", "minItems", "maxItems"}
_INERT = {"title", "description", "examples", "components"}


def from_schema(schema: dict, root: dict | None = None) -> st.SearchStrategy:
    """Values valid for `schema` (the subset of JSON Schema the API's inputs use)."""
    root = root or schema
    unknown = set(schema) - _UNDERSTOOD - _INERT
    assert not unknown, f"from_schema does not understand {unknown}"
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return from_schema(node, root)
    if "anyOf" in schema:
        return st.one_of([from_schema(option, root) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema["type"]
    if kind == "array":
        return st.lists(from_schema(schema["items"], root), min_size=schema.get("minItems", 0),
                        max_size=schema.get("maxItems"))
    if kind == "null":
        return st.none()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" not in schema:
            return st.text(min_size=low, max_size=high)
        pattern = schema["pattern"]
        texts = st.from_regex(pattern)
        if high:  # also near the longest allowed, where length rules bite
            texts = st.one_of(texts, texts.map(lambda text: _stretched(text, high, pattern)))
        return texts.filter(lambda text: low <= len(text) <= (high or len(text)))
    assert kind == "object" and schema.get("additionalProperties") is False, schema
    properties = {name: from_schema(sub, root) for name, sub in schema["properties"].items()}
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries({k: v for k, v in properties.items() if k in required},
                                 optional={k: v for k, v in properties.items()
                                           if k not in required})


def _stretched(text: str, length: int, pattern: str) -> str:
    """`text` repeated to `length` characters when that still matches `pattern`."""
    longer = (text * length)[:length] if text else text
    return longer if re.search(pattern, longer) else text


def valid(schema: dict, value) -> bool:
    return Draft202012Validator(schema).is_valid(value)


@pytest.fixture
def offer(gateway) -> str:
    with gateway.db.session() as s:
        return listing(s, producer(s), quantity=1000, price=700).code


@pytest.fixture
def keys():
    counter = itertools.count()
    return lambda: f"contract-{next(counter)}"


def post_order(api, body, key: str):
    return api.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                    headers={"Idempotency-Key": key})


# --- generated requests ----------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)  # JSON: no lone surrogates
ANY_JSON = st.one_of(st.none(), st.booleans(), st.integers(-10, 2_000_000),
                     st.integers(-10, 2_000_000).map(float), st.integers(0, 99).map(str),
                     st.floats(allow_nan=False, allow_infinity=False), TEXT,
                     st.from_regex(r"[+0-9 -]{0,16}", fullmatch=True),
                     st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
PATHS = [("listing",), ("quantity",), ("buyer",), ("buyer", "name"), ("buyer", "phone"),
         ("extra",), ("buyer", "extra")]


def _mutated(body: dict, path: tuple, value, drop: bool) -> dict:
    body = json.loads(json.dumps(body))
    parent = body
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        if drop:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
    return body


VALID_BODIES = from_schema(ORDER_BODY)
BODIES = st.one_of(VALID_BODIES, st.builds(_mutated, VALID_BODIES, st.sampled_from(PATHS),
                                           ANY_JSON, st.booleans()))


@pytest.mark.slow
def test_bodies_the_document_accepts_are_accepted_and_the_rest_refused(api, offer, keys):
    @settings(PROPERTY, max_examples=400)
    @given(body=BODIES, real_listing=st.booleans())
    def check(body, real_listing):
        if real_listing and isinstance(body, dict) and "listing" in body:
            body = {**body, "listing": offer}
        response = post_order(api, body, keys())
        if valid(ORDER_BODY, body):
            assert response.status_code in {201, 404, 409}, (body, response.get_json())
        else:
            assert response.status_code == 422, (body, response.get_json())
            assert error_of(response)["code"] in {"unknown_field", "invalid_body"} \
                or error_of(response)["code"].startswith("invalid_")
    check()


@pytest.mark.slow
def test_idempotency_keys_the_document_accepts_are_accepted_and_the_rest_refused(api, offer):
    # Header values as a WSGI server hands them over: Latin-1, no CR/LF/NUL.
    alphabet = st.characters(min_codepoint=1, max_codepoint=0xFF, exclude_characters="\r\n")

    @PROPERTY
    @given(key=st.one_of(from_schema(IDEMPOTENCY_KEY), st.text(alphabet, max_size=110)))
    def check(key):
        # The same body each time: a repeated key is a replay (201), never a 422.
        response = post_order(api, {"listing": offer, "quantity": 1, "buyer": {"name": "Shop"}},
                              key)
        if valid(IDEMPOTENCY_KEY, key):
            assert response.status_code == 201, (key, response.get_json())
        else:
            assert response.status_code == 400, (key, response.get_json())
            assert error_of(response)["code"] in {"idempotency_key_required",
                                                  "invalid_idempotency_key"}
    check()


def _query_values():
    names = ["product", "district", "min_quantity", "limit"]  # cursor: see below
    strategies = {name: from_schema(_schema(_parameter("/listings", "get", name)["schema"]))
                  for name in names}
    return st.fixed_dictionaries({}, optional=strategies)


@pytest.mark.slow
def test_query_parameters_the_document_accepts_are_accepted(api):
    # A cursor the document accepts may still be one this API never issued:
    # that 400 (invalid_cursor) is about its value, like a 404, and is tested
    # in test_listings.
    @PROPERTY
    @given(params=_query_values())
    def check(params):
        response = api.get("/api/v1/listings", query_string={k: str(v) for k, v in
                                                             params.items()})
        assert response.status_code == 200, (params, response.get_json())
    check()


@given(phone=from_schema(_schema(ORDER_BODY["components"]["schemas"]["OrderBuyer"]
                                 ["properties"]["phone"]["anyOf"][0])))
@settings(max_examples=300)
def test_every_phone_the_pattern_admits_is_a_valid_number(phone):
    # The declared pattern is narrower than the phone library: nothing it
    # admits is refused afterwards.
    normalised = phones.normalize(phone)
    assert normalised.startswith("+2507") and len(normalised) == 13


# --- the cases that used to disagree -----------------------------------------------


def _order(offer: str, **change) -> dict:
    return {"listing": offer, "quantity": 10, "buyer": {"name": "Shop"}, **change}


def test_quantity_5_0_is_read_as_5_as_the_schema_says(api, offer):
    quantity = ORDER_BODY["components"]["schemas"]["OrderRequest"]["properties"]["quantity"]
    assert quantity["type"] == "integer" and valid(ORDER_BODY, _order(offer, quantity=5.0))
    response = post_order(api, _order(offer, quantity=5.0), "five")
    assert response.status_code == 201
    assert response.get_json()["quantity"] == 5
    assert post_order(api, _order(offer, quantity=5), "five").status_code == 201  # same request
    response = post_order(api, _order(offer, quantity=5.5), "five-and-a-half")
    assert response.status_code == 422 and error_of(response)["field"] == "quantity"


def test_an_over_long_product_is_declared_and_refused(api):
    schema = _parameter("/listings", "get", "product")["schema"]
    assert schema["maxLength"] == 40
    assert api.get("/api/v1/listings?product=" + "p" * 40).status_code == 200
    response = api.get("/api/v1/listings?product=" + "p" * 41)
    assert response.status_code == 400 and error_of(response)["field"] == "product"


@pytest.mark.parametrize("key", ["tab\there", "caf\xe9", " leading", "trailing ", "del\x7f"])
def test_idempotency_key_characters_are_declared_and_refused(api, offer, key):
    assert not valid(IDEMPOTENCY_KEY, key)
    response = post_order(api, _order(offer), key)
    assert response.status_code == 400
    assert error_of(response) | {"message": ""} == {
        "code": "invalid_idempotency_key", "message": "", "field": "Idempotency-Key"}


@pytest.mark.parametrize("phone", ["12", "+33612345678", "0252123456", "0788 123 45",
                                   "+250 788123456x", "0788123456\n"])
def test_a_bad_buyer_phone_is_declared_and_refused(api, offer, phone):
    body = _order(offer, buyer={"name": "Shop", "phone": phone})
    assert not valid(ORDER_BODY, body)
    response = post_order(api, body, "phone")
    assert response.status_code == 422
    assert (error_of(response)["code"], error_of(response)["field"]) == ("invalid_phone",
                                                                          "buyer.phone")


@pytest.mark.parametrize("phone", ["+250788123456", "0788 123 456", "250-788-123-456",
                                   "00250788123456", "788123456"])
def test_the_declared_phone_forms_are_accepted_and_normalised(api, offer, phone):
    response = post_order(api, _order(offer, buyer={"name": "Shop", "phone": phone}), phone)
    assert response.status_code == 201
    assert response.get_json()["buyer"]["phone"] == "+250788123456"


def _chunked(api, payload: bytes, *, decoded_by_server: bool = True):
    # A WSGI server that decodes chunked bodies (gunicorn, werkzeug's) says
    # so with wsgi.input_terminated; there is no Content-Length.
    environ = {"wsgi.input_terminated": True} if decoded_by_server else {}
    return api.post("/api/v1/orders", input_stream=io.BytesIO(payload),
                    environ_overrides=environ,
                    headers={"Idempotency-Key": "chunked", "Transfer-Encoding": "chunked",
                             "Content-Type": "application/json"})


def test_a_chunked_body_over_16_kib_is_413(api, offer):
    big = json.dumps(_order(offer, buyer={"name": "x" * 20_000})).encode()
    response = _chunked(api, big)
    assert response.request.content_length is None  # nothing declared: the size is counted
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"
    assert "413" in _operation("/orders", "post")["responses"]


def test_a_chunked_body_at_the_limit_is_read_whole(api, offer):
    body = json.dumps(_order(offer)).encode()
    padded = body[:-1] + b" " * (16 * 1024 - len(body)) + b"}"
    assert len(padded) == 16 * 1024
    assert _chunked(api, padded).status_code == 201


def test_a_chunked_body_the_server_cannot_read_is_411_not_a_parse_error(api, offer):
    response = _chunked(api, json.dumps(_order(offer)).encode(), decoded_by_server=False)
    assert response.status_code == 411
    assert error_of(response)["code"] == "length_required"


def test_a_lone_surrogate_is_malformed_json(api, offer):
    response = api.post("/api/v1/orders", data=b'{"listing": "\\ud800"}',
                        content_type="application/json", headers={"Idempotency-Key": "s"})
    assert response.status_code == 400 and error_of(response)["code"] == "malformed_json"


def test_the_published_document_is_the_generated_one(gateway):
    assert gateway.http.get("/api/v1/openapi.json").get_json() == DOC


# --- the routes of issue 9: orders list, webhooks --------------------------------------

WEBHOOK_BODY = _schema(_operation("/webhooks", "post")["requestBody"]["content"]
                       ["application/json"]["schema"])
WEBHOOK_PATHS = [("url",), ("events",), ("extra",)]
WEBHOOK_BODIES = st.one_of(from_schema(WEBHOOK_BODY),
                           st.builds(_mutated, from_schema(WEBHOOK_BODY),
                                     st.sampled_from(WEBHOOK_PATHS), ANY_JSON, st.booleans()))


@pytest.fixture
def public_dns(monkeypatch):
    """Every host resolves to one public address: the property is about the
    document and the server, not about the test machine's DNS."""
    from gateway.api import webhook_urls, webhooks

    monkeypatch.setattr(webhook_urls, "_resolve", lambda host, port: ["93.184.216.34"])
    monkeypatch.setattr(webhooks, "MAX_PER_KEY", 10**6)


@pytest.mark.slow
def test_webhook_bodies_the_document_accepts_are_accepted_and_the_rest_refused(api, public_dns):
    @PROPERTY
    @given(body=WEBHOOK_BODIES)
    def check(body):
        response = api.post("/api/v1/webhooks", data=json.dumps(body),
                            content_type="application/json")
        if valid(WEBHOOK_BODY, body):
            # A refused destination (not https, a bad host) is about the data, as a 404 is.
            assert response.status_code == 201 or (
                response.status_code == 422
                and error_of(response)["code"] == "url_not_allowed"), (body, response.get_json())
        else:
            assert response.status_code == 422, (body, response.get_json())
            code = error_of(response)["code"]
            assert code in {"unknown_field", "invalid_body"} or code.startswith("invalid_")
    check()


def _order_query_values():
    names = ["status", "since", "until", "limit"]  # cursor: test_order_list
    strategies = {name: from_schema(_schema(_parameter("/orders", "get", name)["schema"]))
                  for name in names}
    return st.fixed_dictionaries({}, optional=strategies)


@pytest.mark.slow
def test_order_list_parameters_the_document_accepts_are_accepted(api):
    @PROPERTY
    @given(params=_order_query_values())
    def check(params):
        response = api.get("/api/v1/orders", query_string={k: str(v) for k, v in params.items()})
        assert response.status_code == 200, (params, response.get_json())
    check()


@pytest.mark.slow
def test_webhook_ids_the_document_accepts_are_looked_up_not_refused(api):
    schema = _schema(_parameter("/webhooks/{id}", "get", "id")["schema"])

    @PROPERTY
    @given(raw=st.one_of(from_schema(schema).map(str), TEXT.filter(lambda x: "/" not in x)))
    def check(raw):
        if not raw or raw in {".", ".."}:
            return
        if "\x00" in raw:  # a NUL anywhere in a path is a 400 nul_byte (README, "Odd input")
            assert api.get(f"/api/v1/webhooks/{quote(raw, safe='')}").status_code == 400
            return
        response = api.get(f"/api/v1/webhooks/{quote(raw, safe='')}")
        assert response.status_code == 404, (raw, response.get_json())  # none exist: never a 400
    check()
