"""A price far from the reference is not a listing: the sell and change-price
screens ask again, showing the reference and the range (issue: 1 RWF for a
kilo of coffee cherry worth 700 is a typo, not an offer)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.market.models import Listing
from menus import gsm7
from tests.ussd.helpers import Phone, option, register

FAR = {
    "en": "CON Reference price: 700 RWF. Enter a price from 140 RWF to 3,500 RWF:",
    "fr": "CON Prix de référence: 700 RWF. Entrez un prix de 140 RWF à 3,500 RWF:",
    "rw": "CON Igiciro fatizo: 700 RWF. Andika igiciro kiri hagati ya 140 RWF na 3,500 RWF:",
}
LANG = {"en": "English", "fr": "Francais", "rw": "Kinyarwanda"}
SELL = {"en": "Sell", "fr": "Vendre", "rw": "Kugurisha"}
COFFEE = {"en": "Coffee cherry", "fr": "Café cerise", "rw": "Ikawa"}


@pytest.mark.parametrize("lang", ["en", "fr", "rw"])
def test_a_far_price_is_asked_again_with_the_range(gateway, lang):
    phone = Phone(gateway.http)
    register(phone, lang=LANG[lang])
    body = phone.hop(option(phone.dial(), SELL[lang]))
    body = phone.walk(option(body, COFFEE[lang]), "50", "1")
    assert body.startswith(FAR[lang]) and gsm7.length(body) <= 164  # "CON " + 160
    assert phone.hop("5000").startswith(FAR[lang])  # above the ceiling: the same
    summary = phone.hop("700")
    assert "50 kg x 700 RWF" in summary
    phone.hop("1")
    with gateway.db.session() as s:
        assert [listing.unit_price for listing in s.scalars(select(Listing))] == [700]


def test_changing_a_price_to_a_far_one_is_asked_again(gateway):
    phone = Phone(gateway.http)
    register(phone)
    assert phone.walk(option(phone.dial(), "Sell"), "1", "50", "700", "1").startswith("END Listed!")
    body = phone.walk(option(phone.dial(), "My listings"), "1")
    body = phone.walk(option(body, "Change price"), "2")
    assert body.startswith(FAR["en"])
    done = phone.hop("800")
    assert done.startswith("END ") and "800 RWF" in done
    with gateway.db.session() as s:
        assert s.scalars(select(Listing)).one().unit_price == 800
