"""Issue 8, "field-ready", by USSD: each example of the issue as a new user
would meet it, in rw, en and fr. Every reply is checked by the helpers to
start CON/END, fit 160 GSM-7 characters and use no character outside GSM-7."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.market import service as market
from gateway.market.models import Listing, Producer
from gateway.ussd import menustore
from menus import gsm7, texts
from menus.lint import worst_case_pages
from menus.loader import load
from tests.ussd.helpers import Phone, option, register

LANGUAGE = {"rw": "Kinyarwanda", "en": "English", "fr": "Francais"}
SELL = {"rw": "Kugurisha", "en": "Sell goods", "fr": "Vendre"}
BUY = {"rw": "Kugura", "en": "Buy", "fr": "Acheter"}
BEANS = {"rw": "Ibishyimbo", "en": "Beans", "fr": "Haricots"}
BASKET = {"rw": "Agaseke", "en": "Agaseke basket", "fr": "Panier agaseke"}


def _menu():
    source = (menustore.SHIPPED / "marketplace.yaml").read_text(encoding="utf-8")
    return menustore.parse(source)


# -- 1. French with its accents, 2. Kinyarwanda that agrees -----------------------------


def test_french_screens_carry_their_accents(gateway):
    phone = Phone(gateway.http)
    register(phone, lang="Francais")
    body = phone.hop(option(phone.dial(), "Vendre"))
    assert "Café cerise" in body and "Feuille de thé" in body and "Banane à cuire" in body
    body = phone.walk(option(body, "Café cerise"), "50")
    assert body == "CON Prix par kg en RWF?\nPrix de référence: 700 RWF\n0. Retour"
    phone.hop("700")  # 700 RWF, then the summary
    assert phone.hop("2") == "END Annulé. Rien n'a été enregistré."
    assert phone.hop("1") == "END Session terminée. Recomposez."


@pytest.mark.parametrize("lang, expected", [
    ("rw", "CON Ibishyimbo:\nNta gicuruzwa kiri ku isoko ubu."),
    ("en", "CON No Beans on sale now."),
    ("fr", "CON Haricots:\naucune offre en vente pour le moment."),
])
def test_no_offers_never_glues_the_product_into_the_sentence(gateway, lang, expected):
    phone = Phone(gateway.http)
    register(phone, lang=LANGUAGE[lang])
    body = phone.hop(option(phone.dial(), BUY[lang]))
    body = phone.hop(option(body, BEANS[lang]))
    assert body.startswith(expected + "\n1. ")


@pytest.mark.parametrize("lang, prompt", [
    ("rw", "CON Agaseke: umubare (igice)?"),
    ("en", "CON Agaseke basket: quantity (pc)?"),
    ("fr", "CON Panier agaseke: quelle quantité (pce)?"),
])
def test_units_are_written_in_the_users_language(gateway, lang, prompt):
    phone = Phone(gateway.http)
    register(phone, lang=LANGUAGE[lang])
    body = phone.hop(option(phone.dial(), SELL[lang]))
    body = phone.hop("98")  # the basket is on the second page
    body = phone.hop(option(body, BASKET[lang]))
    assert body.startswith(prompt)
    summary = phone.walk("3", "8000")
    assert "3 " + {"rw": "igice", "en": "pc", "fr": "pce"}[lang] + " x 8,000 RWF" in summary
    assert "piece" not in summary


# -- 3. Navigation never traps ----------------------------------------------------------


def _pending_order(gateway) -> str:
    seller = Phone(gateway.http, "+250788000001", session="seller")
    register(seller, name="Seller", district="Huye")
    seller.walk(option(seller.hop(option(seller.dial(), "Sell")), "Coffee cherry"), "10", "700", "1")
    buyer = Phone(gateway.http, "+250722000002", session="buyer")
    register(buyer, name="Buyer")
    body = buyer.hop(option(buyer.hop(option(buyer.dial(), "Buy")), "Coffee cherry"))
    buyer.walk(option(body, "700 RWF"), "4")
    return buyer.hop("1").split()[2]


@pytest.mark.parametrize("key", ["0", "00"])
def test_an_order_opened_from_its_dial_string_has_back_and_main_menu(gateway, key):
    code = _pending_order(gateway)
    direct = Phone(gateway.http, "+250788000001", session="direct", code=f"*384*7*{code}#")
    body = direct.dial()
    assert body.startswith(f"CON Order {code}:") and body.endswith("\n0. Back")
    main = direct.hop(key)
    assert main.startswith("CON Isoko: Hello Seller\n1. Sell goods")
    # And the journey goes on from there like any other.
    assert code in direct.hop(option(main, "My orders"))


def test_the_dialled_order_can_still_be_answered_after_going_back(gateway):
    code = _pending_order(gateway)
    direct = Phone(gateway.http, "+250788000001", session="direct", code=f"*384*7*{code}#")
    order = direct.dial()
    reject = direct.hop(option(order, "Reject"))
    assert reject.startswith(f"CON Reject order {code}?")
    assert direct.hop("0") == order
    assert direct.walk(option(order, "Accept")).startswith(f"END Order {code} accepted.")


def test_the_resume_offer_says_what_it_resumes_and_00_is_the_main_menu(gateway):
    phone = Phone(gateway.http, session="one")
    register(phone)
    body = phone.walk(option(phone.dial(), "Sell"), "1", "50")  # Coffee cherry, 50 kg: the price prompt
    phone.session = "two"
    assert phone.dial() == "CON Continue selling Coffee cherry, 50 kg?\n1. Yes\n2. No"
    assert phone.hop("1") == body  # and the phone drops again
    phone.session = "three"
    assert phone.dial().startswith("CON Continue selling Coffee cherry, 50 kg?")
    assert phone.hop("00").startswith("CON Isoko: Hello Jean Bosco")
    phone.session = "four"  # the main menu was chosen: nothing left to resume
    assert phone.dial().startswith("CON Isoko: Hello Jean Bosco")


def test_no_resume_offer_after_no_orders_are_waiting_or_a_finished_journey(gateway):
    phone = Phone(gateway.http, session="one")
    register(phone)
    phone.walk(option(phone.dial(), "Sell"), "1")  # worth resuming, but then:
    phone.session = "two"
    assert phone.dial().startswith("CON Continue selling")
    main = phone.hop("00")
    body = phone.hop(option(main, "My orders"))
    assert body.startswith("CON No orders are open.")  # and the phone drops here
    phone.session = "three"
    assert phone.dial().startswith("CON Isoko: Hello Jean Bosco")
    phone.walk(option(phone.dial(), "Sell"), "1", "50", "700", "1")  # a finished journey
    phone.session = "four"
    assert phone.dial().startswith("CON Isoko: Hello Jean Bosco")


@pytest.mark.parametrize("lang, line, main", [
    ("rw", "Twabuze aho wari ugeze.", "Isoko: Muraho Jean Bosco"),
    ("en", "We lost your place.", "Isoko: Hello Jean Bosco"),
    ("fr", "Nous avons perdu votre étape.", "Isoko: Bonjour Jean Bosco"),
])
def test_a_session_whose_state_was_lost_is_told_so_before_the_main_menu(gateway, redis_client,
                                                                          lang, line, main):
    phone = Phone(gateway.http, session="one")
    register(phone, lang=LANGUAGE[lang])
    phone.dial()
    phone.walk(option(phone.dial(), SELL[lang]), "1")
    redis_client.flushdb()  # Redis restarted mid-session
    body = phone.hop("50")  # the provider sends "1*1*50"; nobody remembers "1*1"
    assert body.startswith(f"CON {line}\n{main}\n1. ")
    assert phone.hop(option(body, SELL[lang])).startswith("CON ")  # and it carries on from there


def test_a_first_hop_with_no_text_is_not_a_lost_session(gateway):
    phone = Phone(gateway.http)
    register(phone)
    assert phone.dial().startswith("CON Isoko: Hello Jean Bosco")


def test_the_lost_line_and_resume_offers_fit_at_worst_case():
    menu = load(_menu(), 1, menustore.CAPABILITIES)
    for lang in menu.languages:
        [main] = worst_case_pages(menu, menu.screens["main"], lang, menustore.CAPABILITIES)
        first = main.text.split("\n", 1)[1]  # worst_case_pages puts the longest error on top
        assert gsm7.length(f"{menu.string('lost', lang)}\n{first}") <= menu.limit, lang
        for key in [k for k in menu.strings if k.startswith("resume_")]:
            question = texts.worst_case(menu.strings[key][lang], menu.placeholders)
            offer = "\n".join([menu.string("invalid", lang), question, f"1. {menu.string('yes', lang)}",
                               f"2. {menu.string('no', lang)}"])
            assert gsm7.first_non_gsm7(offer) is None and gsm7.length(offer) <= menu.limit, (key, lang)
            assert key[len("resume_"):] in menu.screens, key


# -- 4. Names -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang, refused", [
    ("rw", "CON Andika amazina, si imibare.\nMurakaza neza"),
    ("en", "CON Enter a name, not a number.\nWelcome to Isoko"),
    ("fr", "CON Entrez un nom, pas un nombre.\nBienvenue sur Isoko"),
])
@pytest.mark.parametrize("name", ["00", "98", "1234"])
def test_a_name_of_digits_only_is_refused_with_a_clear_message(gateway, lang, refused, name):
    phone = Phone(gateway.http)
    phone.hop(option(phone.dial(), LANGUAGE[lang]))
    assert phone.hop(name).startswith(refused)


def test_a_name_of_real_length_is_kept_whole_and_cut_to_fit_on_screen(gateway):
    long_name = "Nyiraneza Marie Goretti Uwimana Mukamana Ingabire Umutoni"
    assert len(long_name) >= 55
    phone = Phone(gateway.http)
    main = register(phone, name=long_name + "xyz")  # 60 characters
    assert main.startswith("CON Isoko: Hello Nyiraneza Marie Goretti\n1. ")  # cut between words
    with gateway.db.session() as s:
        assert s.scalars(select(Producer.name)).one() == long_name + "xyz"


def test_a_name_over_sixty_characters_is_refused(gateway):
    phone = Phone(gateway.http)
    phone.hop(option(phone.dial(), "English"))
    assert phone.hop("A" * 61).startswith("CON Too long.")


# -- 5. STOP pauses a seller's listings for buyers by USSD ---------------------------------


def test_a_seller_who_sent_stop_is_not_offered_to_buyers_until_start(gateway):
    _pending_order(gateway)  # the seller has 6 kg left on sale
    with gateway.db.session() as s:
        assert market.pause_listings(s, "+250788000001") == 1
    buyer = Phone(gateway.http, "+250722000002", session="later")
    body = buyer.hop(option(buyer.hop(option(buyer.dial(), "Buy")), "Coffee cherry"))
    assert body.startswith("CON No Coffee cherry on sale now.")
    with gateway.db.session() as s:
        assert market.restore_listings(s, "+250788000001") == 1
        assert s.scalars(select(Listing.status)).one() == "active"
    body = buyer.hop(option(buyer.hop(option(buyer.dial(), "Buy")), "Coffee cherry"))
    assert "700 RWF 6 kg Huye" in body
