"""The access settings: `web` refuses to start open or with a weak key, and
every new variable is checked with the others (one message, every problem)."""
from __future__ import annotations

import ipaddress

import pytest

from gateway.core.access import AccessConfig
from gateway.core.settings import Settings, SettingsError

TOKEN = "cb-token-0123456789abcdef"
KEY = "k" * 32
WEB = {"SECRET_KEY": KEY, "CALLBACK_TOKEN": TOKEN}


def problems(env: dict, mode: str = "web") -> list[str]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env, mode=mode)
    return caught.value.problems


def test_web_refuses_to_start_without_a_callback_token():
    found = problems({"SECRET_KEY": KEY})
    assert len(found) == 1
    assert found[0].startswith("CALLBACK_TOKEN: is required in 'web' mode")
    assert "ALLOW_OPEN_CALLBACKS=1" in found[0]


def test_open_callbacks_only_when_asked_for_explicitly():
    settings = Settings.from_env({"SECRET_KEY": KEY, "ALLOW_OPEN_CALLBACKS": "1"}, mode="web")
    assert settings.callback_token is None and settings.access.allow_open_callbacks
    assert settings.production
    assert problems({"SECRET_KEY": KEY, "ALLOW_OPEN_CALLBACKS": "0"})[0].startswith("CALLBACK_TOKEN:")
    assert problems({"SECRET_KEY": KEY, "ALLOW_OPEN_CALLBACKS": "yes"}) == [
        "ALLOW_OPEN_CALLBACKS: must be 0 or 1, got 'yes'",
        "CALLBACK_TOKEN: is required in 'web' mode: set it (the provider's callbacks carry it) "
        "or set ALLOW_OPEN_CALLBACKS=1 to run them open"]


def test_serve_and_worker_need_no_callback_token():
    assert not Settings.from_env({}).production  # serve: the local one-process server
    assert Settings.from_env({"SECRET_KEY": "short"}, mode="worker").callback_token is None


@pytest.mark.parametrize("key", ["x" * 31, "é" * 15])  # 31 and 30 bytes
def test_web_needs_a_secret_key_of_32_bytes(key):
    found = problems({**WEB, "SECRET_KEY": key})
    assert len(found) == 1 and found[0].startswith("SECRET_KEY: is too short for 'web' mode")
    assert key not in found[0]
    assert Settings.from_env({**WEB, "SECRET_KEY": "é" * 16}, mode="web").secret_key == "é" * 16


def test_every_access_variable_is_read():
    settings = Settings.from_env({**WEB, "CALLBACK_ALLOW_CIDRS": "196.201.214.0/24, 2001:db8::/32,10.1.2.3",
                                  "TRUSTED_PROXIES": "1", "SESSION_COOKIE_SECURE": "1",
                                  "USSD_HOPS_PER_MINUTE": "30", "LOGIN_ATTEMPTS_PER_ADDRESS": "3"},
                                 mode="web")
    assert settings.access == AccessConfig(
        callback_networks=(ipaddress.ip_network("196.201.214.0/24"), ipaddress.ip_network("2001:db8::/32"),
                           ipaddress.ip_network("10.1.2.3/32")),
        trusted_proxies=1, cookie_secure=True, hops_per_minute=30, logins_per_address=3)


def test_defaults_are_generous_and_closed():
    access = Settings.from_env({}).access
    assert access.hops_per_minute == 60 and access.logins_per_address == 4
    assert access.callback_networks == () and access.trusted_proxies == 0
    assert not access.cookie_secure and not access.allow_open_callbacks


def test_every_bad_access_variable_is_named_at_once():
    found = problems({"SECRET_KEY": "s3cr3t-value", "CALLBACK_ALLOW_CIDRS": "10.0.0.1/24, nowhere,10.2.0.0/16",
                      "TRUSTED_PROXIES": "9", "SESSION_COOKIE_SECURE": "true",
                      "USSD_HOPS_PER_MINUTE": "0", "LOGIN_ATTEMPTS_PER_ADDRESS": "5"})
    named = [p.split(":", 1)[0] for p in found]
    assert sorted(named) == sorted(["CALLBACK_TOKEN", "SECRET_KEY", "CALLBACK_ALLOW_CIDRS", "TRUSTED_PROXIES",
                                    "SESSION_COOKIE_SECURE", "USSD_HOPS_PER_MINUTE",
                                    "LOGIN_ATTEMPTS_PER_ADDRESS"])
    cidrs = next(p for p in found if p.startswith("CALLBACK_ALLOW_CIDRS"))
    assert "'10.0.0.1/24'" in cidrs and "'nowhere'" in cidrs and "10.2.0.0/16" not in cidrs
    assert "s3cr3t-value" not in "\n".join(found)  # the secret is never echoed


@pytest.mark.parametrize(("address", "allowed"), [
    ("196.201.214.7", True), ("196.201.215.1", False), ("::ffff:196.201.214.9", True),
    ("2001:db8::1", True), ("2001:db9::1", False), ("", False), (None, False), ("not-an-ip", False),
])
def test_the_allow_list_matches_addresses(address, allowed):
    access = Settings.from_env({**WEB, "CALLBACK_ALLOW_CIDRS": "196.201.214.0/24,2001:db8::/32"},
                               mode="web").access
    assert access.callback_allowed(address) is allowed


def test_an_allow_list_naming_no_network_is_refused():
    assert problems({**WEB, "CALLBACK_ALLOW_CIDRS": " , ,"}) == ["CALLBACK_ALLOW_CIDRS: names no network"]
