"""The bench's Isoko menu for the peers' 3-screen journey
(bench/peers/isoko_3screen.yaml): published as the next version of
`marketplace`, as bench/hops.py does with `gateway menus publish`, a stock
gateway answers the very screens the bench checks every system against.
"""
from __future__ import annotations

from bench import peer_systems
from gateway.ussd import menustore
from tests.ussd.helpers import Phone


def _publish_bench_menu(gateway) -> None:
    with gateway.db.session() as s:
        version = menustore.publish(s, peer_systems.MENU_FILE.read_text(encoding="utf-8"),
                                    created_by="test").version
    gateway.services.store.set_head("marketplace", version, published=True)


def test_the_bench_menu_lints_clean_with_the_gateways_capabilities():
    assert menustore.check(peer_systems.MENU_FILE.read_text(encoding="utf-8")) == []


def test_each_journey_the_bench_drives_gets_its_expected_screens(gateway):
    _publish_bench_menu(gateway)
    for n, journey in enumerate(peer_systems.JOURNEYS):
        phone = Phone(gateway.http, f"+25078800000{n}", session=f"bench-{n}")
        for text, expected in journey["steps"]:
            body = phone.post(text).get_data(as_text=True)
            # The same screens exactly, not just their first line: the peers' texts.
            assert body == expected, (text, body)


def test_the_quantity_is_checked_by_the_regex_and_a_redial_starts_afresh(gateway):
    _publish_bench_menu(gateway)
    phone = Phone(gateway.http, session="bench-bad")
    assert phone.dial() == peer_systems.MENU
    assert phone.hop("1") == peer_systems.QUANTITY
    assert phone.hop("12345") == "CON Quantity in kg, digits only\nQuantity in kg"
    # Dropped on the quantity screen: neither peer offers it again, nor does this menu.
    assert phone.dial() == peer_systems.MENU
