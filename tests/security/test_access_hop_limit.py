"""The per-phone hop limit: past USSD_HOPS_PER_MINUTE a phone gets a polite
END in its language, counted in the session read's own Redis round trip."""
from __future__ import annotations

import time

import pytest

from gateway.ussd import hop as hops
from gateway.ussd.sessions import PREFIX, RATE_WINDOW, Record
from menus import gsm7
from tests.ussd.helpers import Phone, check_reply, option, register

# The counter lives one clock minute (RATE_WINDOW): a test whose
# hops straddle a minute's turn would see it reset. Its hops take well
# under this many seconds.
CLEAR_OF_TURN_SECONDS = 5


def clear_of_the_minutes_turn() -> None:
    """Return at once, or after at most CLEAR_OF_TURN_SECONDS once the
    clock minute has turned, so the hops that follow share one counter."""
    left = RATE_WINDOW - time.time() % RATE_WINDOW
    if left < CLEAR_OF_TURN_SECONDS:
        time.sleep(left + 0.05)


@pytest.mark.parametrize("lang", ["rw", "en", "fr"])
def test_the_limit_texts_fit_a_screen_in_gsm7(lang):
    text = "END " + hops.SLOW_DOWN[lang]
    check_reply(text)
    assert gsm7.first_non_gsm7(text) is None and gsm7.length(text) <= 160
    assert "é" in hops.SLOW_DOWN["fr"]  # accents kept


def test_past_the_limit_a_phone_gets_a_polite_end_in_its_language(gateway_factory):
    gw = gateway_factory(env={"USSD_HOPS_PER_MINUTE": "4"})
    clear_of_the_minutes_turn()
    phone = Phone(gw.http, "+250788000001", session="fast")
    main = phone.dial()  # 1
    french = phone.hop(option(main, "Francais"))  # 2
    assert french.startswith("CON ")
    phone.hop("0")  # 3
    phone.hop("0")  # 4
    refused = phone.hop("1")  # 5: past the limit
    assert refused == "END " + hops.SLOW_DOWN["fr"]
    # Another phone is not slowed down by the first.
    other = Phone(gw.http, "+250788000002", session="calm")
    assert other.dial().startswith("CON ")
    # Nothing was applied for the refused hop: the session did not move.
    record = Record.loads(gw.redis.get(f"{PREFIX}:s:{phone.session}"))
    assert record.hops == 4 and phone.text not in record.replies


def test_a_new_caller_past_the_limit_hears_kinyarwanda(gateway_factory):
    gw = gateway_factory(env={"USSD_HOPS_PER_MINUTE": "2"})
    clear_of_the_minutes_turn()
    phone = Phone(gw.http, "+250788000003", session="new")
    phone.dial()
    phone.dial()
    assert phone.dial() == "END " + hops.SLOW_DOWN["rw"]
    assert gw.redis.get(f"isoko:ussd:l:{phone.session}") is None  # the lock was released


def test_the_counter_expires_and_costs_no_extra_round_trip(gateway, monkeypatch):
    calls = []
    real = type(gateway.redis).pipeline

    def counting(self, *args, **kwargs):
        calls.append("pipeline")
        return real(self, *args, **kwargs)

    phone = Phone(gateway.http, "+250788000004", session="count")
    clear_of_the_minutes_turn()  # registering and the hops below count in one minute
    register(phone)
    monkeypatch.setattr(type(gateway.redis), "pipeline", counting)
    for name in ("execute_command",):
        original = getattr(type(gateway.redis), name)
        monkeypatch.setattr(type(gateway.redis), name,
                            lambda self, *a, _o=original, **k: calls.append(a[0]) or _o(self, *a, **k))
    phone.hop(option(phone.dial(), "Sell"))
    assert "INCR" not in calls and "EXPIRE" not in calls  # both ride in the pipeline
    keys = gateway.redis.keys(f"{PREFIX}:q:+250788000004:*")
    assert len(keys) == 1
    assert 0 < gateway.redis.ttl(keys[0]) <= 120
