"""GET /api/v1/listings (filters, keyset pagination) and GET /api/v1/products."""
from __future__ import annotations

import pytest

from gateway.market import service as market
from gateway.api.listings import encode_cursor
from gateway.market.models import ListingStatus
from gateway.market.seed import load_catalogue
from tests.api.conftest import error_of, listing, producer

PRODUCTS = ["coffee_cherry", "green_tea_leaf", "cooking_banana"]
DISTRICTS = ["Huye", "Gasabo", "Musanze"]


@pytest.fixture
def market45(gateway):
    """45 active listings: 3 sellers (districts) x 3 products, quantities 10..450."""
    made = []
    with gateway.db.session() as s:
        sellers = [producer(s, f"+25078800010{i}", district)
                   for i, district in enumerate(DISTRICTS)]
        for n in range(45):
            seller = sellers[n % 3]
            product = PRODUCTS[(n // 3) % 3]
            row = listing(s, seller, product, quantity=10 * (n + 1), price=500 + n)
            made.append({"id": row.id, "code": row.code, "product": product,
                         "district": DISTRICTS[n % 3], "quantity": row.quantity})
    return made


def fetch_all(api, query: str = "", limit: int = 20) -> tuple[list[dict], int]:
    """Every page of a query; returns the items and the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/listings?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert len(body["data"]) <= limit
        items += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 50, "pagination does not end"


def test_pages_cover_every_listing_once_newest_first(api, market45):
    first = api.get("/api/v1/listings").get_json()
    assert len(first["data"]) == 20  # the default page
    items, pages = fetch_all(api)
    assert pages == 3
    assert [item["code"] for item in items] == [m["code"] for m in reversed(market45)]


def test_a_listing_shows_what_a_buyer_needs_and_no_personal_data(api, market45):
    response = api.get("/api/v1/listings?limit=100")
    newest = market45[-1]
    item = response.get_json()["data"][0]
    assert item["code"] == newest["code"]
    assert item["product"] == {"code": newest["product"], "name": "Cooking banana"}
    assert item["quantity"] == newest["quantity"] and item["unit"] == "kg"
    assert item["unit_price"] == 544 and item["currency"] == "RWF"
    assert item["district"] == newest["district"] and item["grade"] is None
    assert item["updated_at"].endswith("Z")
    text = response.get_data(as_text=True)
    assert "+2507880001" not in text and "Jean" not in text and "phone" not in text


def test_keyset_pages_do_not_shift_when_listings_come_and_go(gateway, api, market45):
    page1 = api.get("/api/v1/listings?limit=20").get_json()
    with gateway.db.session() as s:
        seller = market.find_producer(s, "+250788000100")
        listing(s, seller, "coffee_cherry", quantity=5)  # newer than everything: not in page 2
        # The first item page 2 would have shown is withdrawn meanwhile.
        market.withdraw_listing(s, producer_id=seller.id, listing_id=market45[24]["id"])
    page2 = api.get(f"/api/v1/listings?limit=20&cursor={page1['next_cursor']}").get_json()
    expected = [m["code"] for m in reversed(market45[:24])][:20]
    assert [item["code"] for item in page2["data"]] == expected


FILTERS = [
    ("&product=green_tea_leaf", lambda m: m["product"] == "green_tea_leaf"),
    ("&district=huye", lambda m: m["district"] == "Huye"),
    ("&district=MUSANZE", lambda m: m["district"] == "Musanze"),
    ("&min_quantity=300", lambda m: m["quantity"] >= 300),
    ("&product=coffee_cherry&district=Gasabo&min_quantity=100",
     lambda m: (m["product"], m["district"]) == ("coffee_cherry", "Gasabo")
     and m["quantity"] >= 100),
    ("&product=honey", lambda m: False),
    ("&district=Atlantis", lambda m: False),
]


def test_filters_select_exactly_the_matching_listings_across_pages(api, market45):
    for query, keep in FILTERS:
        items, _pages = fetch_all(api, query, limit=4)
        expected = [m["code"] for m in reversed(market45) if keep(m)]
        assert [item["code"] for item in items] == expected, query


def test_withdrawn_and_sold_out_listings_are_not_on_sale(gateway, api):
    with gateway.db.session() as s:
        seller = producer(s)
        kept = listing(s, seller, quantity=10)
        gone = listing(s, seller, quantity=10)
        market.withdraw_listing(s, producer_id=seller.id, listing_id=gone.id)
        sold = listing(s, seller, quantity=10)
        sold.status = ListingStatus.SOLD_OUT
    codes = [item["code"] for item in api.get("/api/v1/listings").get_json()["data"]]
    assert codes == [kept.code]


BAD_PARAMETERS = [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
    ("min_quantity=x", "min_quantity"), ("cursor=garbage!", "cursor"),
    (f"cursor={encode_cursor(5)[:-2]}", "cursor"), ("product=" + "p" * 41, "product"),
]


def test_bad_parameters_are_400_naming_the_parameter(api):
    for query, field in BAD_PARAMETERS:
        response = api.get(f"/api/v1/listings?{query}")
        assert response.status_code == 400, query
        assert error_of(response)["field"] == field, query


def test_limit_100_is_allowed(api, market45):
    body = api.get("/api/v1/listings?limit=100").get_json()
    assert len(body["data"]) == 45 and body["next_cursor"] is None


def test_products_are_the_catalogue_in_three_languages(api):
    body = api.get("/api/v1/products").get_json()
    catalogue = load_catalogue()
    assert [p["code"] for p in body["data"]] == [p["code"] for p in catalogue]
    parchment = next(p for p in body["data"] if p["code"] == "parchment_coffee")
    assert parchment["names"] == {"rw": "Ikawa ya parche", "en": "Parchment coffee",
                                  "fr": "Café parche"}
    assert parchment["unit"] == "kg" and parchment["reference_price"] == 3200
    assert [g["code"] for g in parchment["grades"]] == ["A", "B", "C"]
    assert parchment["grades"][0]["names"]["en"] == "Grade A"
