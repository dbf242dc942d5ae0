"""The state machine, walked through the shipped marketplace menu with a fake Context."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import menus
from menus import engine, gsm7
from menus.engine import Context, EngineError, Item, Turn
from menus.lint import Capabilities
from menus.loader import load
from menus.model import REQUIRED_STRINGS

MARKETPLACE = Path(menus.__file__).parent / "definitions" / "marketplace.yaml"
ROUTES = {"ok", "sold", "bought", "to_pay", "waiting", "disputed", "missing"}  # where an order opens
CAPS = Capabilities(
    actions={"identify": {"registered", "new", "order"}, "register": {"ok"},
             "price_listing": {"ok"}, "create_listing": {"ok"}, "update_quantity": {"ok", "gone"},
             "update_price": {"ok", "gone"}, "withdraw": {"ok", "gone"},
             "price_order": {"ok", "short"}, "place_order": {"ok", "short", "gone", "own"},
             "open_order": ROUTES, "show_order": ROUTES, "accept_order": {"ok", "closed"},
             "reject_order": {"ok", "closed"},
             "deliver": {"ok", "wrong", "locked", "format", "unpaid", "closed"},
             "confirm_receipt": {"ok", "unpaid", "closed"}, "raise_dispute": {"ok", "closed"},
             "pay_order": {"sent", "waiting", "closed"},
             "market_prices": {"full", "offers", "sales", "none"}, "market_now": {"market", "none"},
             "subscribe_alert": {"ok"}, "unsubscribe_alert": {"ok"},
             "open_listing": {"ok", "own", "missing"}, "post_want": {"ok"},
             "fulfil_want": {"ok", "gone"}, "close_want": {"ok", "gone"}},
    sources={"districts": 12, "products": 20, "grades": 16, "my_listings": 36,
             "offers": 36, "orders_to_answer": 36, "my_orders": 36, "my_alerts": 20,
             "my_wants": 36},
)
MENU = load(yaml.safe_load(MARKETPLACE.read_text(encoding="utf-8")), 3, CAPS)
PHONE = "+250788123456"


def main_option(label_en: str) -> str:
    """The key of a main menu option, found by its English label, so walks
    through the main menu survive a reordering (checked on the rendered menu
    in every language by test_main_menu_keys_follow_the_labels)."""
    labels = [option.label["en"] for option in MENU.screens["main"].options]
    return str(labels.index(label_en) + 1)


SELL, BUY, MY_LISTINGS, ORDERS_TO_ANSWER, PRICES, WANTS, ALERTS = map(main_option, [
    "Sell goods", "Buy", "My listings", "My orders", "Prices", "Wants", "Alerts"])

DISTRICTS = [Item(f"d{i:02}", name) for i, name in enumerate([
    "Gasabo", "Kicukiro", "Nyarugenge", "Bugesera", "Gatsibo", "Kayonza", "Kirehe",
    "Ngoma", "Nyagatare", "Rwamagana", "Burera", "Gakenke", "Gicumbi", "Musanze", "Rulindo"], 1)]
PRODUCTS = [
    Item("maize", "Maize", {"unit": "kg", "ref": 400}),
    Item("beans", "Beans", {"unit": "kg", "ref": 900}),
    Item("eggs", "Eggs", {"unit": "pcs", "ref": 150}),
]
GRADES = {"maize": [Item("A", "Grade A"), Item("B", "Grade B")], "beans": [Item("X", "Grade X")]}
LISTINGS = [
    Item("L1", "Maize 50 kg", {"code": "ABC123", "unit": "kg", "quantity": 50, "price": 400}),
    Item("L2", "Eggs 300 pcs", {"code": "XYZ789", "unit": "pcs", "quantity": 300, "price": 150}),
]


def offer(listing_id: str, price: int, quantity: int, unit: str, district: str,
          grade: tuple[str, str] = ("", ""), code: str = "QX4P2A") -> Item:
    """An item of the `offers` source, labelled as the gateway labels it
    (`700 RWF 10kg A Huye`: price, quantity and unit, grade code, district)."""
    label = " ".join(p for p in (f"{price:,} RWF", f"{quantity:,}{unit}", grade[0], district) if p)
    return Item(listing_id, label, {"price": price, "quantity": quantity, "unit": unit,
                                    "district": district, "grade": grade[1], "code": code})


# Other producers' listings by product, cheapest first; nine maize offers
# spill to a second page, eggs have none.
OFFERS = {
    "maize": [offer(str(40 + i), price, qty, "kg", district, (g, f"Grade {g}"), f"MZ{i:04}")
              for i, (price, qty, g, district) in enumerate([
                  (350, 120, "B", "Nyagatare"), (380, 200, "A", "Kayonza"), (390, 45, "B", "Ngoma"),
                  (400, 1000, "A", "Gatsibo"), (410, 60, "A", "Bugesera"), (420, 15, "B", "Kirehe"),
                  (450, 300, "A", "Musanze"), (480, 25, "A", "Huye"), (700, 10, "A", "Rubavu")])],
    "beans": [offer("61", 900, 40, "kg", "Huye", code="BN7K2M")],
}
# Orders waiting for this producer's answer: id is the order code.
ORDERS = [
    Item("482113", "482113 10kg Maize", {"code": "482113", "quantity": 10, "unit": "kg",
                                         "total": 4000, "label": "10kg Maize"}),
    Item("907215", "907215 24pcs Eggs", {"code": "907215", "quantity": 24, "unit": "pcs",
                                         "total": 3600, "label": "24pcs Eggs"}),
]


# The caller's price alerts: id is the alert's, the label its product's name.
ALERT_ITEMS = [Item("7", "Maize"), Item("9", "Beans")]
# The caller's open wants (the `my_wants` source: product, quantity, most per unit).
WANT_ITEMS = [Item("7", "Beans 200 kg", {"max": 900})]


def make_ctx(districts=DISTRICTS, products=PRODUCTS, grades=GRADES, listings=LISTINGS,
             offers=OFFERS, orders=ORDERS, alerts=ALERT_ITEMS, wants=WANT_ITEMS) -> Context:
    """A Context over fixed items; an unknown source raises KeyError, so a
    source misspelt in the menu cannot pass for an empty list."""
    def items(source, vals, lang):
        by_product = {"grades": grades, "offers": offers}
        if source in by_product:
            return by_product[source].get(vals.get("product"), [])
        return {"districts": districts, "products": products, "my_listings": listings,
                "orders_to_answer": orders, "my_orders": orders, "my_alerts": alerts,
                "my_wants": wants}[source]
    return Context(items)


CTX = make_ctx()


ORDER_CODE = "530917"  # the code place_order gives a new order


def order_values(code: str, quantity: int = 10, unit: str = "kg", total: int = 4000,
                 label: str = "10kg Maize") -> dict:
    """What open_order answers for a pending order (as the orders_to_answer items carry)."""
    return {"order": code, "order_code": code, "order_quantity": quantity, "order_unit": unit,
            "order_total": total, "order_label": label}


def answer(call: engine.ActionCall, outcome: str | None = None) -> tuple[str, dict]:
    """What the gateway's handlers would answer: an outcome and plausible values.
    Without a forced `outcome`, the one the gateway would pick for these values."""
    v = call.values
    if call.name == "identify":
        outcome = outcome or ("order" if v.get("dial_order") else "registered")
        return outcome, ({"name": "Alice"} if outcome != "new" else {})
    if call.name == "price_listing":
        return outcome or "ok", {"total": v["quantity"] * v["price"]}
    if call.name in ("market_now", "market_prices"):  # no offers, no sales: the plain screens
        return outcome or "none", {}
    if call.name == "create_listing":
        return outcome or "ok", {"listing_code": "K7Q2XA"}
    if call.name == "update_quantity":
        return outcome or "ok", {"listing_quantity": v["new_quantity"]}
    if call.name == "update_price":
        return outcome or "ok", {"listing_price": v["new_price"]}
    if call.name == "price_order":
        outcome = outcome or ("short" if v["buy_quantity"] > v["offer_quantity"] else "ok")
        total = v["buy_quantity"] * v["offer_price"]
        return outcome, ({"order_total": total} if outcome == "ok" else {})
    if call.name == "place_order":
        outcome = outcome or "ok"
        if outcome == "ok":
            total = v["buy_quantity"] * v["offer_price"]
            return outcome, {"order_code": ORDER_CODE, "order_total": total}
        if outcome == "short":  # sold meanwhile: the stock left comes back
            return outcome, {"offer_quantity": v["buy_quantity"] - 1}
        return outcome, {}
    if call.name in ("open_order", "show_order"):
        outcome = outcome or "ok"
        code = v.get("dial_order") or v.get("order") or "482113"
        shown = {item.id: item.values for item in ORDERS}.get(code, {})
        values = order_values(code, **{k: shown[k] for k in ("quantity", "unit", "total", "label") if k in shown})
        return outcome, (values if outcome != "missing" else {})
    if call.name == "open_listing":  # a listing's dial string: the values an offer choice sets
        outcome = outcome or "ok"
        listing = OFFERS["beans"][0]
        values = {"product": "beans", "product_label": "Beans", "product_unit": "kg",
                  "offer": listing.id} | {f"offer_{k}": value for k, value in listing.values.items()}
        return outcome, (values if outcome == "ok" else {})
    return outcome or "ok", {}


class Dial:
    """One session: every turn kept, actions answered like the gateway would
    (`outcomes` forces an action's outcome; `results` maps (action, outcome)
    to the values to answer instead of `answer`'s)."""

    def __init__(self, *, new: bool = False, ctx: Context = CTX, outcomes=None, lang=None,
                 dial_order: str | None = None, results=None):
        self.menu, self.ctx, self.outcomes = MENU, ctx, dict(outcomes or {})
        self.results = dict(results or {})
        if new:
            self.outcomes.setdefault("identify", "new")
        self.calls: list[engine.ActionCall] = []
        self.turns: list[Turn] = []
        values = ({"phone": PHONE} | ({"lang": lang} if lang else {})
                  | ({"dial_order": dial_order} if dial_order else {}))
        self._take(engine.start(MENU, values, ctx))

    def _take(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        while turn.action is not None:
            self.calls.append(turn.action)
            assert turn.text == "" and not turn.end
            outcome, values = answer(turn.action, self.outcomes.get(turn.action.name))
            values = self.results.get((turn.action.name, outcome), values)
            turn = engine.resume(self.menu, turn.state, outcome, values, self.ctx)
            self.turns.append(turn)
        return turn

    @property
    def turn(self) -> Turn:
        return self.turns[-1]

    @property
    def screen(self) -> str:
        return self.turn.state["scr"]

    @property
    def vals(self) -> dict:
        return self.turn.state["vals"]

    def choose(self, label: str) -> str:
        """Press the number the current page shows for `label`: an option's
        English label on a menu screen (shown in the session's language),
        an item's label on a list screen."""
        screen = self.menu.screens[self.screen]
        if screen.type == "menu":
            [option] = [o for o in screen.options if o.label.get("en", o.label.get("*")) == label]
            label = option.label.get(self.vals["lang"], option.label.get("*"))
        keys = [line.split(". ", 1)[0] for line in self.turn.text.split("\n")
                if line.split(". ", 1)[-1] == label and line.split(". ", 1)[0].isdecimal()]
        assert len(keys) == 1, f"{label!r} is not shown once on:\n{self.turn.text}"
        return self.press(keys[0])

    def press(self, *inputs: str) -> str:
        for raw in inputs:
            previous = self.turn
            before = copy.deepcopy(previous.state)
            self._take(engine.step(self.menu, previous.state, raw, self.ctx))
            assert previous.state == before  # step never changes the state it is given
        return self.turn.text


# -- journey 1: registration ------------------------------------------------------

def test_registration_path():
    d = Dial(new=True)
    assert d.calls[0] == engine.ActionCall("identify", {"phone": PHONE, "lang": "rw"}, "start")
    assert d.screen == "language"
    assert d.turn.text == ("Isoko\nHitamo ururimi\nChoose a language\nChoisissez la langue\n"
                           "1. Kinyarwanda\n2. English\n3. Francais")
    name = "Welcome to Isoko, the producers' market.\nWhat is your name?\n0. Back"
    assert d.press("2") == name
    assert d.vals["lang"] == "en"
    # `back: false` hides the language screen's own back line; it can still be returned to.
    assert d.press("0").startswith("Isoko\nHitamo ururimi\n")
    assert d.screen == "language" and d.turn.state["hist"] == []
    assert d.press("2") == name

    page1 = d.press("Alice")
    assert page1 == ("Choose your district:\n1. Gasabo\n2. Kicukiro\n3. Nyarugenge\n4. Bugesera\n"
                     "5. Gatsibo\n6. Kayonza\n7. Kirehe\n98. More\n0. Back")
    page2 = d.press("98")
    assert page2 == ("1. Ngoma\n2. Nyagatare\n3. Rwamagana\n4. Burera\n5. Gakenke\n6. Gicumbi\n"
                     "7. Musanze\n98. More\n0. Back")
    assert d.press("0") == page1
    assert d.press("98") == page2
    assert d.press("98") == "1. Rulindo\n0. Back"
    assert d.press("0") == page2
    consent = d.press("3")  # the third line of page 2: Rwamagana, not Nyarugenge
    assert consent == ("Isoko keeps your number, name and district to connect you with buyers. "
                       "Do you agree?\n1. Yes\n2. No\n0. Back")
    assert d.press("1") == ("Isoko: Hello Alice\n1. Sell goods\n2. Buy\n3. My listings\n"
                            "4. My orders\n5. Prices\n6. Wants\n7. Alerts")
    assert d.calls[-1] == engine.ActionCall("register", {
        "phone": PHONE, "lang": "en", "name": "Alice",
        "district": "d10", "district_label": "Rwamagana"}, "do_register")
    assert [c.name for c in d.calls] == ["identify", "register"]


@pytest.mark.parametrize("lang", ["rw", "en", "fr"])
def test_main_menu_keys_follow_the_labels(lang):
    main = Dial(lang=lang).turn.text
    for key, option in zip([SELL, BUY, MY_LISTINGS, ORDERS_TO_ANSWER, PRICES, WANTS, ALERTS],
                           MENU.screens["main"].options, strict=True):
        assert f"\n{key}. {option.label[lang]}" in main
    assert "\n98. " not in main  # one page: the keys never depend on paging


def test_history_does_not_lead_back_into_a_finished_registration():
    d = Dial(new=True)
    d.press("2", "Alice", "1", "1")
    assert d.screen == "main"
    assert d.turn.state["hist"] == []
    d.press(SELL)
    assert d.screen == "sell_product" and d.turn.state["hist"] == ["main"]
    d.press("0")
    assert d.screen == "main"
    assert d.press("0").startswith("Invalid choice.\nIsoko: Hello Alice")  # main has no back
    assert d.screen == "main"
    assert [c.name for c in d.calls] == ["identify", "register"]


def test_refused_consent_ends_without_registering():
    d = Dial(new=True)
    text = d.press("3", "Jean", "1", "2")
    assert text == "Sans votre accord nous ne pouvons pas vous inscrire. Rappelez quand vous voulez."
    assert d.turn.end and d.turn.state["end"]
    assert [c.name for c in d.calls] == ["identify"]


def test_no_districts_skips_to_unavailable():
    d = Dial(new=True, ctx=make_ctx(districts=[]))
    assert d.press("2", "Alice") == "Service unavailable now. Please try again later."
    assert d.turn.end


# -- journey 2: selling ----------------------------------------------------------

def test_sell_path_with_grades():
    d = Dial()
    assert d.calls[0].name == "identify" and d.screen == "main"
    assert d.press(SELL) == "Urashaka kugurisha iki?\n1. Maize\n2. Beans\n3. Eggs\n0. Subira inyuma"
    assert d.press("1") == "Icyiciro cya Maize:\n1. Grade A\n2. Grade B\n0. Subira inyuma"
    assert d.press("2") == "Maize: umubare (kg)?\n0. Subira inyuma"
    assert d.press("50 kg") == "Igiciro mu RWF (kg 1)?\nIgiciro fatizo: 400 RWF\n0. Subira inyuma"
    confirm = d.press("1,200")
    call = d.calls[-1]
    assert call.name == "price_listing" and call.screen == "price_listing"
    assert {k: call.values[k] for k in ("product", "product_label", "product_unit", "product_ref",
                                       "grade", "grade_label", "quantity", "price")} == {
        "product": "maize", "product_label": "Maize", "product_unit": "kg", "product_ref": 400,
        "grade": "B", "grade_label": "Grade B", "quantity": 50, "price": 1200}
    assert confirm == ("Maize Grade B\n50 kg x 1,200 RWF\nYose: 60,000 RWF\nEmeza?\n"
                       "1. Yego\n2. Oya\n0. Subira inyuma")
    done = d.press("1")
    assert [c.name for c in d.calls] == ["identify", "market_now", "price_listing", "create_listing"]
    assert done == "Byanditswe! Kode: K7Q2XA. Urabona SMS yemeza."
    assert d.turn.end and d.turn.state["end"]


def test_sell_path_without_grades_skips_the_grade_screen():
    d = Dial()
    d.press(SELL)
    assert d.press("3") == "Eggs: umubare (pcs)?\n0. Subira inyuma"
    assert d.screen == "sell_quantity"
    assert not any(k.startswith("grade") for k in d.vals)
    d.press("0")
    assert d.screen == "sell_product"  # the skipped list is not in the history


def test_a_product_without_grades_forgets_an_earlier_grade():
    d = Dial()
    d.press(SELL, "1", "1")
    assert d.vals["grade"] == "A" and d.screen == "sell_quantity"
    d.press("0", "0")
    assert d.screen == "sell_product"
    d.press("3", "300", "150")
    call = d.calls[-1]
    assert call.name == "price_listing"
    assert call.values["product"] == "eggs"
    assert not any(k.startswith("grade") for k in call.values)
    assert d.turn.text.startswith("Eggs\n300 pcs x 150 RWF\nYose: 45,000 RWF\n")


def test_cancelling_a_listing_creates_nothing():
    d = Dial()
    assert d.press(SELL, "3", "10", "100", "2") == "Byahagaritswe. Nta cyanditswe."
    assert [c.name for c in d.calls] == ["identify", "market_now", "price_listing"]
    assert d.turn.end


def test_no_products_ends_politely():
    d = Dial(ctx=make_ctx(products=[]))
    assert d.press(SELL) == "Nta bicuruzwa biri ku isoko ubu. Ongera ugerageze nyuma."
    assert d.turn.end


# -- journey 3: managing listings ---------------------------------------------------

@pytest.mark.parametrize(("inputs", "outcome", "action", "expected"), [
    ([MY_LISTINGS, "1", "1", "80"], "ok", "update_quantity",
     "{listing_code} yahinduwe: 80 kg, 400 RWF."),
    ([MY_LISTINGS, "1", "2", "450 frw"], "ok", "update_price",
     "{listing_code} yahinduwe: 50 kg, 450 RWF."),
    ([MY_LISTINGS, "1", "3", "1"], "ok", "withdraw", "{listing_code} yakuwe ku isoko."),
    ([MY_LISTINGS, "1", "1", "80"], "gone", "update_quantity", "Icyo gicuruzwa ntikikiboneka."),
    ([MY_LISTINGS, "1", "3", "1"], "gone", "withdraw", "Icyo gicuruzwa ntikikiboneka."),
])
def test_managing_a_listing(inputs, outcome, action, expected):
    d = Dial(outcomes={action: outcome})
    assert d.press(*inputs) == expected.format(listing_code="ABC123")
    assert d.calls[-1].name == action
    assert d.calls[-1].values["listing"] == "L1"
    assert d.turn.end


def test_listing_menu_shows_the_chosen_listing_and_withdraw_can_be_refused():
    d = Dial()
    d.press(MY_LISTINGS)
    assert d.turn.text == "Ibyo ucuruza:\n1. Maize 50 kg\n2. Eggs 300 pcs\n0. Subira inyuma"
    menu = d.press("2")
    assert menu.startswith("Eggs 300 pcs\nIgiciro: 150 RWF\n1. Hindura umubare")
    assert d.vals["listing_code"] == "XYZ789" and d.vals["listing_unit"] == "pcs"
    assert d.press("3") == "Kuramo XYZ789 ku isoko?\n1. Yego\n2. Oya\n0. Subira inyuma"
    assert d.press("2") == menu
    assert d.screen == "listing_menu"
    # Back from there leads to the list once, not to the listing menu a second time.
    assert d.press("0").startswith("Ibyo ucuruza:\n")


def test_no_listings_offers_to_sell():
    d = Dial(ctx=make_ctx(listings=[]))
    d.press(MY_LISTINGS)
    assert d.screen == "no_listings"
    d.press("1")
    assert d.screen == "sell_product"


# -- invalid input, navigation ---------------------------------------------------

@pytest.mark.parametrize(("inputs", "error"), [
    ([SELL, "3", "abc"], "Andika umubare, urugero 50."),
    ([SELL, "3", "2.5"], "Andika umubare wuzuye."),
    ([SELL, "3", "0 pcs"], "Umubare ni muto cyane."),
    ([SELL, "3", "2000000"], "Umubare ni munini cyane."),
    ([SELL, "3", "50 bags"], "Andika umubare, urugero 50."),
    ([SELL, "3", "10", "12.5 rwf"], "Andika umubare wuzuye."),
    ([SELL, "9"], "Igisubizo ntikemewe."),
    ([SELL, "²"], "Igisubizo ntikemewe."),
    ([SELL, "3", "5", "100", "3"], "Igisubizo ntikemewe."),
    ([str(len(MENU.screens["main"].options) + 1)], "Igisubizo ntikemewe."),  # one past the last
    (["0"], "Igisubizo ntikemewe."),  # main takes no back key
])
def test_invalid_input_shows_the_error_above_the_same_prompt(inputs, error):
    d = Dial()
    d.press(*inputs[:-1])
    screen, before = d.screen, d.turn.text
    after = d.press(inputs[-1])
    assert d.screen == screen
    assert after == f"{error}\n{before}"


@pytest.mark.parametrize(("typed", "stored", "shown"), [
    # Typed input takes the GSM-7 spellings before it is stored (what the
    # SMS will carry); what has none is kept and shown as '?'.
    ("  François   Ñ\U0001F600 ", "Francois Ñ\U0001F600", "Francois Ñ?"),
    ("O\u2019Neil\u00a0Uwase", "O'Neil Uwase", "O'Neil Uwase"),  # ’ and a non-breaking space
    ("Ana {Bee}", "Ana {Bee}", "Ana {Bee}"),  # braces are GSM-7: kept, not '?'
])
def test_a_name_is_normalised_when_stored_and_sanitized_when_shown(typed, stored, shown):
    d = Dial(new=True)
    d.press("2", typed, "1", "1")
    assert d.calls[-1].values["name"] == stored
    assert d.turn.text.startswith(f"Isoko: Hello {shown}\n")


# -- numbers stay where they were after a wrong answer ------------------------------

RW_PRODUCTS = [Item(f"p{i}", label, {"unit": "kg", "ref": 100}) for i, label in enumerate([
    "Ikawa y'ibitumbwe", "Ikawa itunganyije", "Icyayi kibisi", "Agaseke", "Ibishyimbo",
    "Ibigori", "Ibirayi", "Imyumbati", "Amagi"], 1)]


def _numbered(text: str) -> dict[str, str]:
    """The numbered lines of a page, navigation lines left out."""
    return dict(line.split(". ", 1) for line in text.split("\n")
                if ". " in line and line.split(". ", 1)[0].isdecimal()
                and line.split(". ", 1)[0] not in MENU.keys.values())


@pytest.mark.parametrize("count", [7, 9])
@pytest.mark.parametrize("wrong", ["9", "abc", "98 98", "²"])
def test_a_wrong_answer_keeps_the_kinyarwanda_product_list_as_it_was(count, wrong):
    # Seven products used to fit page 1 until "Igisubizo ntikemewe." was
    # added above them, which pushed products 6 and 7 to a second page.
    d = Dial(ctx=make_ctx(products=RW_PRODUCTS[:count]))
    for page in range(3):
        before, state = d.turn.text, d.turn.state
        if d.screen != "sell_product":
            d.press(SELL)
            before, state = d.turn.text, d.turn.state
        after = d.press(wrong)
        assert after == f"Igisubizo ntikemewe.\n{before}"
        assert _numbered(after) == _numbered(before)
        assert d.turn.state["shown"] == state["shown"] and d.turn.state["pg"] == state["pg"]
        last = max(_numbered(before), key=int)
        chosen = engine.step(MENU, d.turn.state, last, d.ctx).state["vals"]["product_label"]
        assert chosen == _numbered(before)[last]
        if f"\n98. Ibindi" not in before:
            break
        d.press("98")


PAGING = {"name": "t", "languages": ["rw"], "start": "m", "home": "m",
          "strings": {k: k for k in REQUIRED_STRINGS} | {"more": "Ibindi", "back": "Subira inyuma"},
          "screens": {"m": {"type": "menu", "text": "Hitamo:", "options": []},
                      "q": {"type": "input", "field": "n", "text": "Umubare?", "next": "e",
                            "validate": {"type": "integer", "min": 1}},
                      "e": {"type": "end", "text": "Murakoze"}}}


@pytest.mark.parametrize(("invalid", "labels", "presses"), [
    ("Igisubizo ntikemewe.", ["Ikawa", "Icyayi", "Agaseke", "Ibishyimbo", "Ibigori", "Ibirayi",
                              "Imyumbati"], []),
    ("Igisubizo ntikemewe.", [f"Igicuruzwa {i}" for i in range(1, 13)], []),
    ("Igisubizo ntikemewe.", [f"Igicuruzwa {i}" for i in range(1, 13)], ["98"]),
    ("Igisubizo ntikemewe.", [f"Igicuruzwa {i}" for i in range(1, 20)], ["98", "98"]),
    (("Igisubizo ntikemewe. " * 5).strip(), [f"Igicuruzwa {i}" for i in range(1, 13)], ["98"]),
    ("Non.", ["x" * 40, "y" * 40, "z" * 40, "w" * 40], ["98"]),
])
def test_an_error_line_never_moves_an_option(invalid, labels, presses):
    definition = copy.deepcopy(PAGING)
    definition["strings"]["invalid"] = invalid
    definition["screens"]["m"]["options"] = [{"label": label, "next": "q"} for label in labels[:-1]] + [
        {"label": labels[-1], "next": "e"}]
    menu = load(definition, 1)
    turn = engine.start(menu)
    for raw in presses:
        turn = engine.step(menu, turn.state, raw)
    wrong = engine.step(menu, turn.state, str(turn.state["opts"][1] + 1))
    assert wrong.text == f"{invalid}\n{turn.text}"
    assert wrong.state["opts"] == turn.state["opts"] and wrong.state["pg"] == turn.state["pg"]
    assert gsm7.length(wrong.text) <= menu.limit
    # The next page after the mistake is the one that followed before it.
    if "\n98. Ibindi" in turn.text:
        assert engine.step(menu, wrong.state, "98").text == engine.step(menu, turn.state, "98").text


# -- inputs are not navigation ------------------------------------------------------

INPUTS = {"name": "t", "languages": ["en"], "start": "lang", "home": "main",
          "strings": {k: k for k in REQUIRED_STRINGS} | {
              "back": "Back", "more": "More", "err_too_small": "Must be more than 0.",
              "err_digits_only": "A name has letters.", "invalid": "Invalid choice."},
          "placeholders": {"name": 25},
          "screens": {
              "lang": {"type": "menu", "back": False, "text": "Language",
                       "options": [{"label": "English", "next": "ask_name"}]},
              "ask_name": {"type": "input", "field": "name", "text": "Your name?", "next": "main",
                           "validate": {"type": "text", "max": 60, "not_digits_only": True}},
              "main": {"type": "menu", "text": "Hello {name}",
                       "options": [{"label": "Sell", "next": "qty"}, {"label": "Price", "next": "price"}]},
              "qty": {"type": "input", "field": "qty", "text": "How many?", "next": "bye",
                      "validate": {"type": "integer", "min": 1}},
              "price": {"type": "input", "field": "price", "text": "Price?", "next": "bye", "back": False,
                        "validate": {"type": "integer", "min": 1}},
              "bye": {"type": "end", "text": "Done: {name}"}}}
INPUT_MENU = load(INPUTS, 1)


@pytest.mark.parametrize(("presses", "screen", "shown"), [
    # A name made only of digits is refused, the home and more keys included.
    (["1", "00"], "ask_name", "A name has letters.\nYour name?\n0. Back"),
    (["1", "98"], "ask_name", "A name has letters.\nYour name?\n0. Back"),
    (["1", "0"], "lang", "Language\n1. English"),  # the page shows "0. Back": back
    # A real name of 31 characters is kept whole; the screens cut it to fit.
    (["1", "Nyiraneza Marie Goretti Uwimana"], "main", "Hello Nyiraneza Marie Goretti\n1. Sell\n2. Price"),
    # On a quantity screen that shows "0. Back", 0 is back, as the page says...
    (["1", "Ana", "1", "0"], "main", "Hello Ana\n1. Sell\n2. Price"),
    (["1", "Ana", "1", "00"], "main", "Hello Ana\n1. Sell\n2. Price"),  # home, once visited
    (["1", "Ana", "1", "98"], "bye", "Done: Ana"),  # more is no key on an input: 98 is a quantity
    # ... and where no back line is shown, 0 is a value: refused, never "back" unseen.
    (["1", "Ana", "2", "0"], "price", "Must be more than 0.\nPrice?"),
    (["1", "Ana", "2", "0 RWF"], "price", "Must be more than 0.\nPrice?"),
])
def test_navigation_keys_on_input_screens(presses, screen, shown):
    turn = engine.start(INPUT_MENU)
    for raw in presses:
        turn = engine.step(INPUT_MENU, turn.state, raw)
    assert (turn.state["scr"], turn.text) == (screen, shown)


def test_an_input_screen_obeys_back_exactly_when_it_shows_it():
    menu = INPUT_MENU
    for presses in (["1"], ["1", "Ana", "1"], ["1", "Ana", "2"]):
        turn = engine.start(menu)
        for raw in presses:
            turn = engine.step(menu, turn.state, raw)
        shows_back = turn.text.endswith("\n0. Back")
        after = engine.step(menu, turn.state, "0")
        assert (after.state["scr"] != turn.state["scr"]) == shows_back, turn.text


def test_back_pops_history_across_a_pure_action():
    d = Dial()
    d.press(SELL, "1", "1", "50", "400")
    assert d.screen == "sell_confirm"
    assert d.press("0") == "Igiciro mu RWF (kg 1)?\nIgiciro fatizo: 400 RWF\n0. Subira inyuma"
    assert d.press("0").startswith("Maize: umubare (kg)?")
    assert d.press("0").startswith("Icyiciro cya Maize:")
    assert d.press("0") == "Urashaka kugurisha iki?\n1. Maize\n2. Beans\n3. Eggs\n0. Subira inyuma"
    assert d.vals["quantity"] == 50  # collected values stay; going back only moves
    assert d.press("0").startswith("Isoko: Muraho Alice\n")
    assert d.turn.state["hist"] == []


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_home_key_returns_to_main_from_any_depth(depth):
    d = Dial()
    main = d.turn.text
    assert main.startswith("Isoko: Muraho Alice\n1. Kugurisha\n")
    d.press(*[SELL, "1", "1", "50", "400"][:depth])
    assert d.screen != "main"
    assert d.press("00") == main
    assert d.screen == "main" and d.turn.state["hist"] == [] and d.turn.state["pg"] == 0


def test_home_key_works_only_once_home_was_visited():
    d = Dial(new=True)
    d.press("2", "Alice")
    assert d.screen == "ask_district"
    assert d.press("00").startswith("Invalid choice.\nChoose your district:")
    assert d.screen == "ask_district"


def test_more_past_the_last_page_stays_on_it():
    d = Dial(new=True)
    last = d.press("2", "Alice", "98", "98")
    assert d.press("98") == last
    assert d.turn.state["pg"] == 2
    assert d.press("1").startswith("Isoko keeps your number")
    assert d.vals["district"] == "d15"


# -- resume, redisplay, end, purity ------------------------------------------------

def test_redisplay_shows_the_same_page_and_changes_nothing():
    d = Dial(new=True)
    page2 = d.press("2", "Alice", "98")
    state = copy.deepcopy(d.turn.state)
    again = engine.redisplay(MENU, d.turn.state, CTX)
    assert again.text == page2 and not again.end and again.action is None
    assert again.state == state and d.turn.state == state
    assert engine.step(MENU, again.state, "1", CTX).state["vals"]["district"] == "d08"


def test_resume_merges_values_and_routes_the_outcome():
    turn = engine.start(MENU, {"phone": PHONE}, CTX)
    state = copy.deepcopy(turn.state)
    nxt = engine.resume(MENU, turn.state, "registered", {"name": "Uwase"}, CTX)
    assert turn.state == state
    assert nxt.state["scr"] == "main" and nxt.state["vals"]["name"] == "Uwase"
    assert nxt.text.startswith("Isoko: Muraho Uwase\n")


@pytest.mark.parametrize(("inputs", "outcome"), [
    ([], "gone"),              # identify answers registered, new or order
    ([], "ok"),
    ([SELL, "1", "1", "5"], "gone"),  # at market_now, which routes only market and none
])
def test_an_unrouted_outcome_raises(inputs, outcome):
    turn = engine.start(MENU, {"phone": PHONE}, CTX)
    turn = engine.resume(MENU, turn.state, "registered", {"name": "A"}, CTX) if inputs else turn
    for raw in inputs:
        turn = engine.step(MENU, turn.state, raw, CTX)
    assert turn.action is not None and MENU.screens[turn.state["scr"]].type == "action"
    with pytest.raises(EngineError, match="no route for outcome"):
        engine.resume(MENU, turn.state, outcome, {}, CTX)


def test_resume_outside_an_action_screen_raises():
    d = Dial()
    with pytest.raises(EngineError):
        engine.resume(MENU, d.turn.state, "ok", {}, CTX)


def test_input_on_an_action_screen_raises():
    turn = engine.start(MENU, {"phone": PHONE}, CTX)
    with pytest.raises(EngineError, match="takes no input"):
        engine.step(MENU, turn.state, "1", CTX)


@pytest.mark.parametrize(("lang", "ended"), [
    ("rw", "Byarangiye. Ongera uhamagare."),
    ("en", "Session ended. Please dial again."),
    ("fr", "Session terminée. Recomposez."),
])
def test_after_an_end_screen_every_step_answers_ended(lang, ended):
    d = Dial(lang=lang, ctx=make_ctx(orders=[]))
    d.press(ORDERS_TO_ANSWER, "2")  # no orders open: 2. Exit
    assert d.screen == "bye" and d.turn.end and d.turn.state["end"] is True
    for raw in ("1", "0", "00", ""):
        turn = engine.step(MENU, d.turn.state, raw, CTX)
        assert (turn.text, turn.end, turn.action) == (ended, True, None)
        assert turn.state == d.turn.state


def test_step_never_mutates_the_state_passed_in():
    d = Dial(new=True)
    for raw in ["2", "Alice", "98", "0", "x", "1", "1"]:
        state = d.turn.state
        frozen = copy.deepcopy(state)
        nxt = engine.step(MENU, state, raw, CTX)
        assert state == frozen
        assert nxt.state is not state and nxt.state["vals"] is not state["vals"]
        assert nxt.state["hist"] is not state["hist"]
        d.turns.append(nxt)
        if nxt.action:
            d.turns.append(engine.resume(MENU, nxt.state, "ok", {}, CTX))


# -- every page fits, in every language --------------------------------------------

LONG = make_ctx(
    wants=[Item(str(i), "W" * 36, {"max": 100_000_000}) for i in range(9)],
    districts=[Item(f"d{i}", f"D{i:02}" + "w" * 9) for i in range(30)],        # 12 characters
    products=[Item("long", "P" * 20, {"unit": "u" * 5, "ref": 99_999_999}),
              Item("flat", "F" * 20, {"unit": "kg", "ref": 10})],
    grades={"long": [Item(f"g{i}", "G" * 16) for i in range(9)]},
    listings=[Item(f"L{i}", "L" * 36, {"code": "C" * 6, "unit": "u" * 5,
                                       "quantity": 999_999_999, "price": 99_999_999})
              for i in range(9)],
    # The most the validators let a listing hold: 1,000,000 at 100,000,000 RWF.
    offers={"long": [Item(f"{i}", "O" * 36, {"price": 100_000_000, "quantity": 1_000_000,
                                              "unit": "u" * 5, "district": "D" * 12,
                                              "grade": "G" * 16, "code": "C" * 6})
                     for i in range(9)]},                                  # "flat" has none
    orders=[Item(f"{900000 + i}", "R" * 36, {"code": f"{900000 + i}", "quantity": 1_000_000,
                                             "unit": "u" * 5, "total": 10**14, "label": "L" * 36})
            for i in range(9)],
)
# Action results at their longest, for the LONG walk.
LONGEST_RESULTS = {
    ("identify", "registered"): {"name": "N" * 30},
    ("identify", "order"): {"name": "N" * 30},
    ("create_listing", "ok"): {"listing_code": "C" * 6},
    ("place_order", "ok"): {"order_code": "9" * 6, "order_total": 10**14},
    ("place_order", "short"): {"offer_quantity": 999_999},
    ("open_order", "ok"): order_values("9" * 6, 1_000_000, "u" * 5, 10**14, "L" * 36),
    ("open_listing", "ok"): {"product": "long", "product_label": "P" * 20, "product_unit": "u" * 5,
                             "offer": "40", "offer_price": 100_000_000, "offer_quantity": 1_000_000,
                             "offer_unit": "u" * 5, "offer_district": "D" * 12,
                             "offer_grade": "G" * 16, "offer_code": "C" * 6},
}
PROBES = ["1", "2", "3", "4", "5", "6", "7", "98", "0", "00", "abc", "2.5", "999999999999",
          "W" * 30, "100000000", "1000000", "x"]


def _explore(lang: str, ctx: Context, start: dict, results: dict) -> tuple[list[str], set[str]]:
    """Every page a bounded walk reaches (each action answered with each of its
    outcomes, with `results` replacing the values of some, every probe typed on
    every screen), and the screens it showed."""
    pages, screens, seen = [], set(), set()

    def settle(turn: Turn) -> list[Turn]:
        if turn.action is None:
            return [turn]
        out = []
        for outcome in sorted(MENU.screens[turn.state["scr"]].outcomes):
            _, values = answer(turn.action, outcome)
            values = results.get((turn.action.name, outcome), values)
            out += settle(engine.resume(MENU, turn.state, outcome, values, ctx))
        return out

    # `dial_order` set: identify's `order` outcome has a code to show when missing.
    frontier = settle(engine.start(MENU, {"phone": PHONE, "lang": lang} | start, ctx))
    for _ in range(10):
        following = []
        for turn in frontier:
            pages.append(turn.text)
            screens.add(turn.state["scr"])
            if turn.end:
                continue
            for raw in PROBES:
                for t in settle(engine.step(MENU, turn.state, raw, ctx)):
                    key = (t.state["scr"], t.state["pg"], t.text)
                    if key not in seen:
                        seen.add(key)
                        following.append(t)
        frontier = following
    return pages, screens


@pytest.mark.parametrize("lang", ["rw", "en", "fr"])
@pytest.mark.parametrize(("ctx", "start", "results"), [
    (CTX, {"dial_order": "482113"}, {("identify", "registered"): {"name": "N" * 30}}),
    (LONG, {"dial_order": "9" * 8}, LONGEST_RESULTS),
], ids=["plain", "longest"])
def test_every_page_fits_in_every_language(lang, ctx, start, results):
    pages, screens = _explore(lang, ctx, start, results)
    actions = {s for s, screen in MENU.screens.items() if screen.type == "action"}
    # The empty-list screens are walked in their own tests (no_offers is
    # reached here: one product of each context has no offers).
    assert set(MENU.screens) - actions - screens == {"no_listings", "no_products", "no_orders",
                                                     "no_alerts", "no_wants", "unavailable",
                                                     "bye"}  # bye: from no_orders, walked on its own
    for page in pages:
        assert gsm7.length(page) <= 160, page
        assert gsm7.first_non_gsm7(page) is None, page
    # Pages built from strings alone: the end of a session, and the gateway's
    # offer to continue a dropped one (with the error shown above it).
    offer = "\n".join([MENU.string("invalid", lang), MENU.string("resume", lang),
                       f"1. {MENU.string('yes', lang)}", f"2. {MENU.string('no', lang)}"])
    assert gsm7.length(offer) <= 160
    assert 0 < gsm7.length(MENU.string("ended", lang)) <= 160


# -- a confirm screen whose answers spill to a second page ---------------------------

def _spilling_confirm():
    strings = {k: k for k in REQUIRED_STRINGS} | {"invalid": "Non.", "yes": "Oui",
                                                  "no": "Non, annuler", "more": "Suite",
                                                  "back": "Retour"}
    return load({
        "name": "t", "languages": ["fr"], "start": "m", "strings": strings,
        "screens": {
            "m": {"type": "menu", "text": "M", "options": [{"label": "go", "next": "c"}]},
            "c": {"type": "confirm", "text": "x" * 130, "next": "y", "cancel": "n"},
            "y": {"type": "end", "text": "OUI"},
            "n": {"type": "end", "text": "NON"},
        }}, 1)


def test_confirm_answers_follow_the_page_they_are_shown_on():
    menu = _spilling_confirm()
    # The text, the answers and the room kept for the error line ("Non.")
    # do not fit one page: the answers are on the second, error or not.
    first = engine.step(menu, engine.start(menu).state, "1")
    assert first.text == "x" * 130 + "\n98. Suite\n0. Retour"
    second = engine.step(menu, first.state, "98")
    assert second.text == "1. Oui\n2. Non, annuler\n0. Retour"
    assert engine.step(menu, second.state, "1").text == "OUI"
    assert engine.step(menu, second.state, "2").text == "NON"
    # A wrong answer shows the error above the page the user saw, cut as it was.
    again = engine.step(menu, second.state, "3")
    assert again.text == "Non.\n1. Oui\n2. Non, annuler\n0. Retour"
    assert engine.step(menu, again.state, "2").text == "NON"
    assert engine.step(menu, again.state, "1").text == "OUI"
    wrong_first = engine.step(menu, first.state, "1")  # nothing to choose on page 1
    assert wrong_first.text == f"Non.\n{first.text}"
    assert engine.step(menu, wrong_first.state, "98").text == second.text
    assert engine.step(menu, engine.step(menu, second.state, "0").state, "98").text == second.text


# -- property: nothing a user types breaks a session --------------------------------

KEYS = st.sampled_from(["0", "00", "98", "1", "2", "3", "4", "5", "6", "7", "8", "9", "50",
                        "1,000", "2.5", "Alice", "²", "\u0661", "\uff11"])


@settings(max_examples=150, deadline=None)
@given(data=st.data(), inputs=st.lists(st.one_of(st.text(max_size=40), KEYS), max_size=30),
       lang=st.sampled_from(["rw", "en", "fr"]), long_labels=st.booleans())
def test_any_input_sequence_is_safe(data, inputs, lang, long_labels):
    """Every action is answered with one of its declared outcomes (drawn, so the
    first declared one among them) and plausible values; the state goes through
    JSON between hops, as the gateway stores it."""
    ctx = LONG if long_labels else CTX

    def settle(turn: Turn) -> Turn:
        while turn.action:
            screen = MENU.screens[turn.state["scr"]]
            outcome = data.draw(st.sampled_from(sorted(screen.outcomes)), label=screen.id)
            _, values = answer(turn.action, outcome)
            turn = engine.resume(MENU, turn.state, outcome, values, ctx)
        return turn

    turn = settle(engine.start(MENU, {"phone": PHONE, "lang": lang}, ctx))
    for raw in inputs:
        assert gsm7.length(turn.text) <= MENU.limit
        assert gsm7.first_non_gsm7(turn.text) is None
        frozen = copy.deepcopy(turn.state)
        nxt = settle(engine.step(MENU, turn.state, raw, ctx))
        assert turn.state == frozen
        if turn.end:
            assert nxt.end and nxt.text == MENU.string("ended", turn.state["vals"]["lang"])
        stored = json.loads(json.dumps(nxt.state))
        assert stored == nxt.state
        turn = Turn(nxt.text, nxt.end, stored)
    assert gsm7.length(turn.text) <= MENU.limit
    assert gsm7.first_non_gsm7(turn.text) is None
