"""Journeys 4 and 5 of the shipped marketplace menu, walked through the engine
with the fake Context of test_engine: buying from another producer's listing,
and answering an order from the list or from the dial string an order SMS carries."""
from __future__ import annotations

import pytest

from menus import engine, gsm7, texts
from tests.menus.test_engine import (
    BUY,
    LONG,
    LONGEST_RESULTS,
    MENU,
    ORDER_CODE,
    ORDERS_TO_ANSWER,
    PHONE,
    Dial,
    make_ctx,
)

OFFERS_PAGE_1 = ("Maize on sale:\n1. 350 RWF 120kg B Nyagatare\n2. 380 RWF 200kg A Kayonza\n"
                 "3. 390 RWF 45kg B Ngoma\n4. 400 RWF 1,000kg A Gatsibo\n98. More\n0. Back")
OFFERS_PAGE_2 = ("1. 410 RWF 60kg A Bugesera\n2. 420 RWF 15kg B Kirehe\n"
                 "3. 450 RWF 300kg A Musanze\n4. 480 RWF 25kg A Huye\n5. 700 RWF 10kg A Rubavu\n"
                 "0. Back")
ORDERS_LIST = "My orders:\n1. 482113 10kg Maize\n2. 907215 24pcs Eggs\n0. Back"
EGGS_ORDER = "Order 907215:\n24pcs Eggs\nTotal: 3,600 RWF\n1. Accept\n2. Reject\n0. Back"


def at_quantity(**kwargs) -> Dial:
    """A buyer (English) at the quantity prompt of the Musanze maize offer
    (300 kg at 450 RWF), chosen on the second page of offers."""
    d = Dial(lang="en", **kwargs)
    d.press(BUY)
    d.choose("Maize")
    d.press("98")
    d.choose("450 RWF 300kg A Musanze")
    assert d.screen == "buy_quantity"
    return d


# -- journey 4: buying ----------------------------------------------------------

def test_buy_path_from_product_to_order_code():
    d = Dial(lang="en")
    assert d.press(BUY) == "What do you want to buy?\n1. Maize\n2. Beans\n3. Eggs\n0. Back"
    assert d.choose("Maize") == OFFERS_PAGE_1
    assert d.press("98") == OFFERS_PAGE_2
    assert d.press("0") == OFFERS_PAGE_1
    assert d.press("98") == OFFERS_PAGE_2
    # "3" on the second page is the seventh offer, not the third.
    assert d.press("3") == "How many kg? Available: 300\n0. Back"
    assert {k: v for k, v in d.vals.items() if k.startswith("offer")} == {
        "offer": "46", "offer_label": "450 RWF 300kg A Musanze", "offer_price": 450,
        "offer_quantity": 300, "offer_unit": "kg", "offer_district": "Musanze",
        "offer_grade": "Grade A", "offer_code": "MZ0006"}
    assert d.press("25 bags") == "Enter a number, e.g. 50.\nHow many kg? Available: 300\n0. Back"
    confirm = d.press("25 kilos")
    assert confirm == ("Maize\n25 kg x 450 RWF\nTotal: 11,250 RWF\nMusanze. Confirm?\n"
                       "1. Yes\n2. No\n0. Back")
    priced = d.calls[-1]
    assert priced.name == "price_order" and priced.screen == "price_order"
    assert {k: priced.values[k] for k in ("product", "offer", "offer_price", "offer_quantity",
                                          "buy_quantity")} == {
        "product": "maize", "offer": "46", "offer_price": 450, "offer_quantity": 300,
        "buy_quantity": 25}
    done = d.press("1")
    assert done == f"Order {ORDER_CODE} sent. You will get an SMS when the seller answers."
    assert d.turn.end and d.turn.state["end"]
    placed = d.calls[-1]
    assert placed.name == "place_order" and placed.screen == "do_order"
    assert placed.values["offer"] == "46" and placed.values["buy_quantity"] == 25
    assert [c.name for c in d.calls] == ["identify", "price_order", "place_order"]


@pytest.mark.parametrize(("lang", "confirm", "placed"), [
    ("rw", "Maize\n25 kg x 450 RWF\nYose: 11,250 RWF\nMusanze. Emeza?\n"
           "1. Yego\n2. Oya\n0. Subira inyuma",
     f"Byoherejwe! Kode: {ORDER_CODE}. Urabona SMS ugurisha nasubiza."),
    ("fr", "Maize\n25 kg x 450 RWF\nTotal: 11,250 RWF\nMusanze. Confirmer?\n"
           "1. Oui\n2. Non\n0. Retour",
     f"Commande {ORDER_CODE} envoyée. Un SMS suivra la réponse du vendeur."),
])
def test_buy_confirmation_and_order_code_in_each_language(lang, confirm, placed):
    d = Dial(lang=lang)
    d.press(BUY)
    d.choose("Maize")
    d.press("98")
    d.choose("450 RWF 300kg A Musanze")
    assert d.press("25") == confirm
    assert d.press("1") == placed and d.turn.end


def test_back_from_the_buy_confirmation_changes_the_quantity():
    d = at_quantity()
    d.press("25")
    assert d.screen == "buy_confirm"
    assert d.press("0") == "How many kg? Available: 300\n0. Back"
    assert d.press("40").startswith("Maize\n40 kg x 450 RWF\nTotal: 18,000 RWF\n")
    assert d.calls[-1].values["buy_quantity"] == 40
    assert d.press("0", "0") == OFFERS_PAGE_1  # the list, from its first page


def test_cancelling_a_purchase_orders_nothing():
    d = at_quantity()
    assert d.press("25", "2") == "Cancelled. Nothing was ordered."
    assert d.turn.end
    assert [c.name for c in d.calls] == ["identify", "price_order"]


def test_asking_more_than_is_available_offers_to_change_the_quantity():
    d = at_quantity()
    short = d.press("500")
    assert [c.name for c in d.calls] == ["identify", "price_order"]
    assert d.screen == "buy_short"
    assert short == "Only 300 kg available.\n1. Change quantity\n2. Main menu\n0. Back"
    assert d.choose("Change quantity") == "How many kg? Available: 300\n0. Back"
    assert d.press("300").startswith("Maize\n300 kg x 450 RWF\nTotal: 135,000 RWF\nMusanze.")
    assert d.press("1") == f"Order {ORDER_CODE} sent. You will get an SMS when the seller answers."
    assert [c.values["buy_quantity"] for c in d.calls[1:]] == [500, 300, 300]


def test_the_short_menu_leads_home():
    d = at_quantity()
    d.press("500")
    assert d.choose("Main menu").startswith("Isoko: Hello Alice\n")
    assert d.screen == "main" and d.turn.state["hist"] == []


def test_stock_sold_meanwhile_shows_what_is_left():
    d = at_quantity(outcomes={"place_order": "short"})
    d.press("25")
    assert d.screen == "buy_confirm"
    # Between the confirmation and the order, others bought all but 24 kg.
    assert d.press("1") == "Only 24 kg available.\n1. Change quantity\n2. Main menu\n0. Back"
    assert d.calls[-1].name == "place_order" and not d.turn.end
    assert d.choose("Change quantity") == "How many kg? Available: 24\n0. Back"
    d.press("24")
    assert d.screen == "buy_confirm" and d.calls[-1].values["offer_quantity"] == 24


@pytest.mark.parametrize(("outcome", "screen", "text"), [
    ("own", "own_offer", "You cannot buy your own listing."),
    ("gone", "offer_gone", "That offer is no longer available."),
])
def test_an_own_or_vanished_offer_ends_the_session(outcome, screen, text):
    d = at_quantity(outcomes={"place_order": outcome})
    assert d.press("25", "1") == text
    assert d.screen == screen and d.turn.end and d.turn.state["end"]
    assert d.calls[-1].name == "place_order"
    assert d.press("1") == "Session ended. Please dial again."


def test_a_product_nobody_sells_offers_another_product():
    d = at_quantity()
    d.press("0", "0")
    assert d.screen == "buy_product" and d.vals["offer"] == "46"
    no_offers = d.choose("Eggs")
    assert no_offers == "No Eggs on sale now.\n1. Another product\n2. Main menu\n0. Back"
    assert d.screen == "no_offers"
    # The skipped list forgets the offer chosen earlier.
    assert not any(k.startswith("offer") for k in d.vals)
    assert d.choose("Another product").startswith("What do you want to buy?\n")
    d.choose("Eggs")
    assert d.choose("Main menu").startswith("Isoko: Hello Alice\n")
    assert [c.name for c in d.calls] == ["identify"]


def test_no_products_to_buy_ends_politely():
    d = Dial(lang="en", ctx=make_ctx(products=[]))
    assert d.press(BUY) == "No products are open for sale now. Try again later."
    assert d.turn.end


# -- journey 5: answering orders ---------------------------------------------------

@pytest.mark.parametrize(("outcome", "text"), [
    ("ok", "Order 907215 accepted. The buyer is told by SMS."),
    ("closed", "This order can no longer be answered."),
])
def test_accepting_an_order_from_the_list(outcome, text):
    d = Dial(lang="en", outcomes={"accept_order": outcome})
    assert d.press(ORDERS_TO_ANSWER) == ORDERS_LIST
    assert d.choose("907215 24pcs Eggs") == EGGS_ORDER
    assert {k: v for k, v in d.vals.items() if k.startswith("order")} == {
        "order": "907215", "order_code": "907215", "order_label": "24pcs Eggs",
        "order_quantity": 24, "order_unit": "pcs", "order_total": 3600}
    assert d.choose("Accept") == text
    assert d.turn.end
    accepted = d.calls[-1]
    assert accepted.name == "accept_order" and accepted.values["order"] == "907215"
    assert [c.name for c in d.calls] == ["identify", "show_order", "accept_order"]


@pytest.mark.parametrize(("outcome", "text"), [
    ("ok", "Order 907215 rejected. The quantity is back on sale."),
    ("closed", "This order can no longer be answered."),
])
def test_rejecting_an_order_asks_first(outcome, text):
    d = Dial(lang="en", outcomes={"reject_order": outcome})
    d.press(ORDERS_TO_ANSWER)
    d.choose("907215 24pcs Eggs")
    assert d.choose("Reject") == "Reject order 907215?\n1. Yes\n2. No\n0. Back"
    # No goes back to the order, and back from there to the list (once).
    assert d.press("2") == EGGS_ORDER
    assert d.press("0") == ORDERS_LIST
    assert [c.name for c in d.calls] == ["identify", "show_order"]
    d.choose("907215 24pcs Eggs")
    d.choose("Reject")
    assert d.press("1") == text
    assert d.turn.end
    rejected = d.calls[-1]
    assert rejected.name == "reject_order" and rejected.values["order"] == "907215"
    assert [c.name for c in d.calls] == ["identify", "show_order", "show_order", "reject_order"]


@pytest.mark.parametrize(("lang", "text"), [
    ("rw", "Ibyatumijwe 482113:\n10kg Maize\nYose: 4,000 RWF\n"
           "1. Emeza\n2. Wange\n0. Subira inyuma"),
    ("fr", "Commande 482113:\n10kg Maize\nTotal: 4,000 RWF\n1. Accepter\n2. Refuser\n0. Retour"),
])
def test_order_menu_in_each_language(lang, text):
    d = Dial(lang=lang)
    d.press(ORDERS_TO_ANSWER)
    assert d.press("1") == text


def test_no_orders_waiting():
    d = Dial(lang="en", ctx=make_ctx(orders=[]))
    assert d.press(ORDERS_TO_ANSWER) == "No orders are open.\n1. Main menu\n2. Exit\n0. Back"
    assert d.screen == "no_orders"
    assert d.choose("Main menu").startswith("Isoko: Hello Alice\n")
    d.press(ORDERS_TO_ANSWER)
    assert d.choose("Exit") == "Thank you for using Isoko."
    assert d.turn.end


# -- an order code in the dial string (*384*7*482113#) -------------------------------

def test_a_dialled_order_code_opens_the_order():
    d = Dial(lang="en", dial_order="482113")
    assert [c.name for c in d.calls] == ["identify", "open_order"]
    assert d.calls[0].values["dial_order"] == "482113"
    assert d.calls[1] == engine.ActionCall("open_order", {
        "phone": PHONE, "lang": "en", "dial_order": "482113", "name": "Alice"}, "open_order")
    # Reached straight from the dial: nothing to go back to, so no back line.
    assert d.screen == "order_menu" and d.turn.state["hist"] == []
    assert d.turn.text == "Order 482113:\n10kg Maize\nTotal: 4,000 RWF\n1. Accept\n2. Reject"
    assert d.choose("Accept") == "Order 482113 accepted. The buyer is told by SMS."
    assert d.calls[-1].name == "accept_order" and d.calls[-1].values["order"] == "482113"


def test_a_dialled_order_can_be_rejected():
    d = Dial(lang="en", dial_order="482113")
    order = d.turn.text
    assert d.choose("Reject") == "Reject order 482113?\n1. Yes\n2. No\n0. Back"
    assert d.press("0") == order  # back to the order
    d.choose("Reject")
    assert d.press("2") == order  # and so does no
    d.choose("Reject")
    assert d.press("1") == "Order 482113 rejected. The quantity is back on sale."
    assert d.calls[-1].name == "reject_order" and d.calls[-1].values["order"] == "482113"


@pytest.mark.parametrize(("lang", "text"), [
    ("rw", "Nta byo bagutumije 48211377 bitegereje."),
    ("en", "No order 48211377 is waiting for you."),
    ("fr", "Aucune commande 48211377 en attente pour vous."),
])
def test_a_dialled_order_that_is_not_waiting_ends_with_its_code(lang, text):
    d = Dial(lang=lang, dial_order="48211377",
             outcomes={"open_order": "missing", "open_listing": "missing"})
    assert d.screen == "order_missing"
    assert d.turn.text == text and d.turn.end and d.turn.state["end"]
    assert [c.name for c in d.calls] == ["identify", "open_order", "open_listing"]


def test_a_dialled_listing_code_opens_the_listing_to_buy_from():
    """No order of the caller's under the code, a listing on sale under it
    (the dial string of a want's SMS): the buy journey's quantity screen."""
    d = Dial(lang="en", dial_order="204517", outcomes={"open_order": "missing"})
    assert d.screen == "buy_quantity"
    assert d.turn.text == "How many kg? Available: 40"
    assert [c.name for c in d.calls] == ["identify", "open_order", "open_listing"]
    d.press("10")
    assert d.screen == "buy_confirm" and "Beans" in d.turn.text and "Huye" in d.turn.text


def test_a_dialled_code_of_the_callers_own_listing_says_so():
    d = Dial(lang="en", dial_order="204517", outcomes={"open_order": "missing", "open_listing": "own"})
    assert d.screen == "own_offer" and d.turn.end


def test_a_new_producer_dialling_an_order_code_registers_first():
    d = Dial(new=True, dial_order="482113")
    assert d.screen == "language"
    assert [c.name for c in d.calls] == ["identify"]


# -- every page of journeys 4 and 5 fits, whole, in every language --------------------

WORST_WALKS = [
    # (start values, forced outcomes, inputs); LONG: "1" is a product with nine
    # offers of the longest values, "2" one with none.
    ({}, {}, [BUY, "1", "98", "0", "1", "1000000", "1"]),
    ({}, {}, [BUY, "1", "1", "1000000", "2"]),
    ({}, {"price_order": "short"}, [BUY, "1", "1", "1000000", "1", "1000000", "0", "0", "2"]),
    ({}, {"place_order": "short"}, [BUY, "1", "1", "1000000", "1", "1"]),
    ({}, {"place_order": "own"}, [BUY, "1", "1", "1000000", "1"]),
    ({}, {"place_order": "gone"}, [BUY, "1", "1", "1000000", "1"]),
    ({}, {}, [BUY, "2", "1", "2", "2"]),
    ({}, {}, [ORDERS_TO_ANSWER, "98", "0", "1", "1"]),
    ({}, {"accept_order": "closed"}, [ORDERS_TO_ANSWER, "1", "1"]),
    ({}, {}, [ORDERS_TO_ANSWER, "1", "2", "2", "2", "1"]),
    ({}, {"reject_order": "closed"}, [ORDERS_TO_ANSWER, "1", "2", "1"]),
    ({"dial_order": "9" * 8}, {}, ["2", "1"]),
    ({"dial_order": "9" * 8}, {"open_order": "missing", "open_listing": "missing"}, []),
    ({"dial_order": "9" * 8}, {"open_order": "missing"}, ["1000000", "1"]),  # a listing's code
]


def _check_page(turn: engine.Turn, lang: str, error: str | None = None) -> None:
    text = turn.text
    assert gsm7.length(text) <= MENU.limit, text
    assert gsm7.first_non_gsm7(text) is None, text
    screen = MENU.screens[turn.state["scr"]]
    if turn.state["pg"] > 0:
        return
    # Whole: the text is not spread over pages (the engine's safety net, which
    # the linter's worst case should make unnecessary) ...
    whole = texts.fill(screen.text[lang], turn.state["vals"], MENU.placeholders)
    if error:
        whole = f"{MENU.string(error, lang)}\n{whole}"
    assert text.startswith(whole), text
    # ... and, without an error above it, a menu or confirm shows every answer
    # on that page. (An error may push a confirm's answers to the next page;
    # they then follow it. A list pages its items.)
    if error is None and screen.type != "list":
        assert f"\n{MENU.keys['more']}. " not in text, text


@pytest.mark.parametrize("lang", ["rw", "en", "fr"])
def test_every_buy_and_order_page_fits_whole_at_worst_case(lang):
    reached = set()
    for start, outcomes, inputs in WORST_WALKS:
        d = Dial(lang=lang, ctx=LONG, results=LONGEST_RESULTS, outcomes=outcomes,
                 dial_order=start.get("dial_order"))
        for raw in [*inputs, None]:
            _check_page(d.turn, lang)
            reached.add(d.screen)
            if not d.turn.end:  # and the same page with an error above it
                screen = MENU.screens[d.screen]
                error = "err_number" if screen.type == "input" else "invalid"
                _check_page(engine.step(MENU, d.turn.state, "x", LONG), lang, error)
            if raw is not None:
                d.press(raw)
    journeys = {"buy_product", "buy_offers", "no_offers", "buy_quantity", "buy_short",
                "buy_confirm", "order_placed", "buy_cancelled", "offer_gone", "own_offer",
                "my_orders", "order_missing", "order_menu", "reject_confirm",
                "order_accepted", "order_rejected", "order_closed"}
    assert journeys <= reached, journeys - reached


def test_the_largest_possible_total_is_shown_whole():
    # 1,000,000 x 100,000,000 is the largest total the validators admit: 23 characters.
    d = Dial(lang="en", ctx=LONG)
    d.press(BUY, "1", "1", "1000000")
    assert d.screen == "buy_confirm"
    assert "Total: 100,000,000,000,000 RWF\n" in d.turn.text
