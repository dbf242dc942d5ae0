"""Property-based: every route a stranger can reach, with whatever comes.

Generated requests go to the app the other tests build (Flask's test client,
the real Redis and PostgreSQL): USSD hops and events, delivery reports,
incoming SMS, MTN's callback, the buyer API with and without a key, its
webhooks, the console's login. Bodies and query strings are raw bytes:
arbitrary text, invalid UTF-8, NUL, repeated, missing and unknown fields,
injection strings, bodies over the limit. For every request:

- never a 5xx;
- a USSD reply (200) starts with `CON `/`END `, is GSM-7 and fits the screen;
- the API answers its JSON error shape for every refusal;
- what must be stored is stored, literally (incoming SMS, buyer names).

`PLAN` is the number of examples per route: 10,000 requests in the default
run (about a minute). `-m fuzz_deep` runs the same properties with ten
times as many. Hypothesis is derandomized and keeps no database, so a run
is the same run on every machine.
"""
from __future__ import annotations

import re
from collections import Counter
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.api import keys as apikeys
from gateway.market.models import Listing
from gateway.sms.models import InboundSms
from tests.api.conftest import listing, producer
from tests.ussd.helpers import check_reply

# PostgreSQL only: the backend that refuses a NUL (SQLite stores anything).
ON_PG = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

PLAN = {"ussd": 2000, "ussd_events": 800, "delivery": 1200, "inbound": 1200, "inbound_literal": 500,
        "momo": 700, "api_key": 1500, "api_nokey": 500, "api_names": 300, "login": 1300}
DEEP = 10  # -m fuzz_deep: this many times PLAN
SENT: Counter = Counter()
FORM = "application/x-www-form-urlencoded"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

INJECTIONS = ["<script>alert(1)</script>", "'; DROP TABLE messages; --", "\" OR 1=1 --", "{{7*7}}",
              "${jndi:ldap://x/a}", "%s%s%n", "../../etc/passwd", "\r\nSet-Cookie: x=1", "CON hacked",
              "END \x00", "*384*7#", "0788 CALL ME", "٠٧٨٨٠٠٠٠٠١", "+250788000001", "Arrêt", "é" * 200,
              "\ufeff\u202e", "\udcff"]

# --- raw values: bytes as they reach the server --------------------------------------------------

text_values = st.one_of(st.text(max_size=60), st.sampled_from(INJECTIONS))
raw_values = st.one_of(
    text_values.map(lambda t: t.encode("utf-8", "surrogatepass")),  # lone surrogates: invalid UTF-8
    st.binary(max_size=40),
    st.just(b"\x00"), st.just(b"%00"),
    st.integers(0, 3).map(lambda n: b"1" * (10 ** n)),
)
# Mostly within the limit; now and then over it (a 413), never slow to make.
padding = st.sampled_from([0] * 30 + [70_000])


def encode_pairs(pairs) -> bytes:
    return b"&".join(quote_from_bytes(n, safe="").encode() + b"=" + quote_from_bytes(v, safe="").encode()
                     for n, v in pairs)


def form_bodies(good: dict[str, str]):
    """Forms near the good one: each field kept, dropped, replaced or
    repeated; unknown fields added; sometimes padded over the body limit."""
    def field(name, value):
        kept = [(name.encode(), value.encode())]
        return st.one_of(st.just(kept), st.just([]), raw_values.map(lambda v: [(name.encode(), v)]),
                         raw_values.map(lambda v: kept + [(name.encode(), v)]))

    parts = st.tuples(*(field(n, v) for n, v in good.items()))
    extra = st.lists(st.tuples(st.one_of(st.binary(max_size=8), st.sampled_from([b"text", b"id"])),
                               raw_values), max_size=3)

    @st.composite
    def body(draw):
        pairs = [pair for part in draw(parts) for pair in part] + draw(extra)
        pairs = draw(st.permutations(pairs)) if draw(st.booleans()) else pairs
        encoded = encode_pairs(pairs)
        pad = draw(padding)
        return encoded + (b"&pad=" + b"a" * pad if pad else b"")

    return st.one_of(body(), st.binary(max_size=200))  # and bodies that are no form at all


def queries(names: list[str]):
    pairs = st.lists(st.tuples(st.one_of(st.sampled_from(names).map(str.encode), st.binary(max_size=6)),
                               raw_values), max_size=4)
    return pairs.map(encode_pairs)


# --- running a plan ------------------------------------------------------------------------------


def run(name: str, strategy, check, *, scale: int = 1) -> None:
    """Run `check(drawn)` on PLAN[name] * scale generated values, derandomized;
    each check sends one request (counted in SENT)."""
    examples = PLAN[name] * scale
    before = SENT[name]

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(strategy)
    def prop(drawn):
        SENT[name] += 1
        check(drawn)

    prop()
    assert SENT[name] - before >= examples  # the plan was run in full


def no_5xx(response) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])


@pytest.fixture
def fuzz_deep(request):
    """Skips unless the run asked for the deep suite (`-m fuzz_deep`)."""
    if "fuzz_deep" not in (request.config.option.markexpr or ""):
        pytest.skip("the deep fuzz suite runs with -m fuzz_deep")


@pytest.fixture
def fuzz_app(gateway):
    """The gateway with an API key and a listing big enough for every order."""
    with gateway.db.session() as s:
        _key, token = apikeys.create(s, "fuzz market")
        seller = producer(s)
        code = listing(s, seller, quantity=1_000_000).code
    gateway.token, gateway.listing = token, code
    return gateway


# --- the provider's callbacks --------------------------------------------------------------------

HOP = {"sessionId": "ATUid_fuzz", "phoneNumber": "+250788000001", "serviceCode": "*384*7#",
       "networkCode": "63510", "text": "1"}
EVENT = {"sessionId": "ATUid_fuzz", "status": "Success", "date": "2025-03-01 09:30:15",
         "phoneNumber": "+250788000001", "serviceCode": "*384*7#", "networkCode": "63510",
         "cost": "RWF 0.0000", "durationInMillis": "1234", "hopsCount": "3", "input": "1*2",
         "lastAppResponse": "END ok", "errorMessage": ""}
REPORT = {"id": "ATXid_fuzz", "status": "Success", "phoneNumber": "+250788000001",
          "networkCode": "63510", "failureReason": "", "retryCount": "0"}
INBOUND = {"id": "ATin_fuzz", "from": "+250788000001", "to": "21555", "text": "HELP",
           "date": "2026-11-28 08:00:00", "linkId": "l1", "networkCode": "63510"}


def post_form(gateway, path: str, body: bytes):
    response = gateway.http.post(path, data=body, content_type=FORM)
    no_5xx(response)
    assert response.status_code in (200, 400, 413), response.status_code
    assert response.mimetype == "text/plain"
    return response


def ussd_check(gateway):
    def check(body):
        response = post_form(gateway, "/at/ussd", body)
        if response.status_code == 200:
            check_reply(response.get_data(as_text=True))
    return check


def plain_check(gateway, path):
    return lambda body: post_form(gateway, path, body)


CALLBACKS = [("ussd", "/at/ussd", HOP), ("ussd_events", "/at/ussd/events", EVENT),
             ("delivery", "/at/sms/delivery", REPORT), ("inbound", "/at/sms/inbound", INBOUND)]


@ON_PG
@pytest.mark.parametrize("name, path, good", CALLBACKS, ids=[c[0] for c in CALLBACKS])
def test_fuzz_provider_callbacks(fuzz_app, name, path, good):
    check = ussd_check(fuzz_app) if name == "ussd" else plain_check(fuzz_app, path)
    run(name, form_bodies(good), check)


@ON_PG
@pytest.mark.fuzz_deep
@pytest.mark.parametrize("name, path, good", CALLBACKS, ids=[c[0] for c in CALLBACKS])
def test_fuzz_deep_provider_callbacks(fuzz_deep, fuzz_app, name, path, good):
    check = ussd_check(fuzz_app) if name == "ussd" else plain_check(fuzz_app, path)
    run(name, form_bodies(good), check, scale=DEEP)


literal_texts = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=200),
                          st.sampled_from(INJECTIONS[:-1]))


def inbound_literal_check(gateway):
    def check(case):
        number, text = case
        provider_id = f"lit-{SENT['inbound_literal']}"
        response = gateway.http.post("/at/sms/inbound", data={**INBOUND, "id": provider_id, "text": text})
        no_5xx(response)
        assert response.status_code == 200, response.get_data(as_text=True)
        with gateway.db.session() as s:
            stored = s.scalar(select(InboundSms.text).where(InboundSms.provider_id == provider_id))
        assert stored == text.replace("\x00", "\ufffd")  # as sent, only a NUL replaced
    return check


@ON_PG
def test_fuzz_incoming_sms_are_stored_literally(fuzz_app):
    run("inbound_literal", st.tuples(st.none(), literal_texts), inbound_literal_check(fuzz_app))


# --- MTN's callback ------------------------------------------------------------------------------

json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     text_values.filter(lambda t: "\udcff" not in t)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                           max_leaves=8)
momo_bodies = st.one_of(
    st.fixed_dictionaries({"referenceId": st.one_of(st.uuids().map(str), text_values),
                           "status": st.sampled_from(["SUCCESSFUL", "FAILED", "PENDING", "\x00", ""])},
                          optional={"reason": json_values, "amount": json_values}).map(
        lambda d: __import__("json").dumps(d).encode()),
    json_values.map(lambda v: __import__("json").dumps(v).encode()),
    st.binary(max_size=100),
)


def momo_check(gateway):
    def check(case):
        method, query, body = case
        response = gateway.http.open("/momo/callback?" + query.decode(), method=method, data=body,
                                     content_type="application/json")
        no_5xx(response)
    return check


@ON_PG
def test_fuzz_momo_callback(fuzz_app):
    cases = st.tuples(st.sampled_from(["POST", "PUT"]), queries(["reference"]), momo_bodies)
    run("momo", cases, momo_check(fuzz_app))


# --- the buyer API -------------------------------------------------------------------------------

API_GETS = ["/api/v1/listings", "/api/v1/products", "/api/v1/orders", "/api/v1/webhooks",
            "/api/v1/openapi.json"]
API_PARAMS = ["product", "district", "limit", "cursor", "status", "since", "until"]
path_segments = raw_values.map(lambda v: quote_from_bytes(v[:30], safe=""))
order_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={
        "listing": st.one_of(st.just("LISTING"), text_values, st.integers()),
        "quantity": st.one_of(st.integers(-2, 2_000_000), st.floats(allow_nan=False), text_values, st.booleans()),
        "buyer": st.one_of(st.fixed_dictionaries({"name": text_values}, optional={"phone": text_values}),
                           json_values)}).map(lambda d: __import__("json").dumps(d).encode()),
    json_values.map(lambda v: __import__("json").dumps(v).encode()),
    st.binary(max_size=100),
)
webhook_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"url": st.one_of(text_values, st.just("https://example.org/h")),
                                        "events": st.one_of(st.lists(text_values, max_size=3), json_values)}
                          ).map(lambda d: __import__("json").dumps(d).encode()),
    st.binary(max_size=60),
)
api_requests = st.one_of(
    st.tuples(st.just("GET"), st.sampled_from(API_GETS), queries(API_PARAMS), st.none()),
    st.tuples(st.just("GET"), path_segments.map(lambda p: f"/api/v1/orders/{p}"), queries(API_PARAMS), st.none()),
    st.tuples(st.sampled_from(["GET", "DELETE"]), path_segments.map(lambda p: f"/api/v1/webhooks/{p}"),
              st.just(b""), st.none()),
    st.tuples(st.just("POST"), path_segments.map(lambda p: f"/api/v1/orders/{p}/cancel"), st.just(b""), st.none()),
    st.tuples(st.just("POST"), st.just("/api/v1/orders"), st.just(b""), order_bodies),
    st.tuples(st.just("POST"), st.just("/api/v1/webhooks"), st.just(b""), webhook_bodies),
)
# A header cannot carry a line break on the wire (the test client refuses one too).
idempotency_keys = st.one_of(st.none(), st.text(st.characters(max_codepoint=0x7e, exclude_characters="\r\n"),
                                                 max_size=110),
                             st.sampled_from(INJECTIONS[:6]))


def api_check(gateway, *, with_key: bool):
    def check(case):
        (method, path, query, body), idem = case
        headers = {"Authorization": f"Bearer {gateway.token}"} if with_key else {}
        if idem is not None:
            headers["Idempotency-Key"] = idem
        if body is not None:
            body = body.replace(b"LISTING", gateway.listing.encode())
        url = path + ("?" + query.decode() if query else "")
        response = gateway.http.open(url, method=method, data=body, headers=headers,
                                     content_type="application/json" if body is not None else None)
        no_5xx(response)
        if response.status_code >= 400:
            assert response.mimetype == "application/json", (url, response.status_code)
            assert set(response.get_json()) == {"error"}
        if not with_key and path != "/api/v1/openapi.json":
            assert response.status_code in (400, 401, 404, 405, 413), (url, response.status_code)
    return check


@ON_PG
def test_fuzz_api_with_a_key(fuzz_app):
    run("api_key", st.tuples(api_requests, idempotency_keys), api_check(fuzz_app, with_key=True))


@ON_PG
def test_fuzz_api_without_a_key(fuzz_app):
    run("api_nokey", st.tuples(api_requests, idempotency_keys), api_check(fuzz_app, with_key=False))


def names_check(gateway):
    def check(name):
        headers = {"Authorization": f"Bearer {gateway.token}", "Idempotency-Key": f"n-{SENT['api_names']}"}
        body = {"listing": gateway.listing, "quantity": 1, "buyer": {"name": name}}
        response = gateway.http.post("/api/v1/orders", json=body, headers=headers)
        no_5xx(response)
        if response.status_code == 201:  # stored: shown back exactly as it was taken
            shown = gateway.http.get(response.headers["Location"], headers=headers).get_json()
            assert shown["buyer"]["name"] == " ".join(name.split())
        else:
            assert response.status_code == 422, response.get_json()
    return check


@ON_PG
def test_fuzz_buyer_names_are_stored_and_shown_literally(fuzz_app):
    names = st.one_of(st.sampled_from(INJECTIONS[:9]), st.text(st.characters(exclude_categories=("Cs",)),
                                                               min_size=1, max_size=70))
    run("api_names", names, names_check(fuzz_app))
    with fuzz_app.db.session() as s:  # every order came out of the one listing, none lost
        left = s.scalar(select(Listing.quantity).where(Listing.code == fuzz_app.listing))
    assert left <= 1_000_000


# --- the console's login -------------------------------------------------------------------------


def login_check(gateway):
    page = gateway.http.get("/admin/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1).encode()

    def check(case):
        body, with_token, query = case
        if with_token:
            body = b"csrf_token=" + token + b"&" + body
        response = gateway.http.post("/admin/login?" + query.decode(), data=body, content_type=FORM)
        no_5xx(response)
        # 401: refused credentials; 429: the login rate limit, where there is one
        assert response.status_code in (200, 302, 400, 401, 413, 429), response.status_code
    return check


@ON_PG
def test_fuzz_console_login(fuzz_app):
    cases = st.tuples(form_bodies({"username": "ada", "password": "correct horse battery"}),
                      st.booleans(), queries(["next"]))
    run("login", cases, login_check(fuzz_app))


@ON_PG
@pytest.mark.fuzz_deep
def test_fuzz_deep_the_rest(fuzz_deep, fuzz_app):
    run("momo", st.tuples(st.sampled_from(["POST", "PUT"]), queries(["reference"]), momo_bodies),
        momo_check(fuzz_app), scale=DEEP)
    run("api_key", st.tuples(api_requests, idempotency_keys), api_check(fuzz_app, with_key=True), scale=DEEP)
    run("api_nokey", st.tuples(api_requests, idempotency_keys), api_check(fuzz_app, with_key=False), scale=DEEP)
    run("login", st.tuples(form_bodies({"username": "ada", "password": "x"}), st.booleans(),
                           queries(["next"])), login_check(fuzz_app), scale=DEEP)


def test_the_default_run_makes_at_least_10000_requests():
    assert sum(PLAN.values()) >= 10_000
