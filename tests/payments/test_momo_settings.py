"""MOMO_*: all the credentials or none, checked with the other variables, secrets masked."""
from __future__ import annotations

import pytest

from gateway.core.settings import Settings, SettingsError

MOMO = {"MOMO_API_URL": "https://sandbox.momodeveloper.mtn.com/", "MOMO_SUBSCRIPTION_KEY": "sub-secret",
        "MOMO_API_USER": "0f8b6c1e-user", "MOMO_API_KEY": "key-secret",
        "MOMO_TARGET_ENVIRONMENT": "sandbox"}


def test_without_momo_orders_are_cash_on_delivery():
    assert Settings.from_env({}).momo is None


def test_momo_defaults_and_masking():
    settings = Settings.from_env(MOMO)
    momo = settings.momo
    assert momo.api_url == "https://sandbox.momodeveloper.mtn.com"
    assert (momo.currency, momo.commission_percent, momo.callback_url) == ("RWF", 0.0, None)
    shown = repr(settings)
    assert "sub-secret" not in shown and "key-secret" not in shown
    assert "0f8b6c1e-user" in shown


@pytest.mark.parametrize("percent, total, commission", [
    ("0", 1000, 0), ("2.5", 1000, 25), ("2.5", 999, 24), ("10", 5, 0), ("33.33", 300, 99)])
def test_commission_is_rounded_down(percent, total, commission):
    momo = Settings.from_env({**MOMO, "MOMO_COMMISSION_PERCENT": percent}).momo
    assert momo.commission(total) == commission


def test_every_problem_is_named_at_once():
    env = {"MOMO_API_KEY": "k", "MOMO_TARGET_ENVIRONMENT": "production", "MOMO_CURRENCY": "francs",
           "MOMO_COMMISSION_PERCENT": "150", "AT_USERNAME": "isoko"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    names = {problem.split(":")[0] for problem in caught.value.problems}
    assert names == {"MOMO_API_URL", "MOMO_SUBSCRIPTION_KEY", "MOMO_API_USER",
                     "MOMO_TARGET_ENVIRONMENT", "MOMO_CURRENCY", "MOMO_COMMISSION_PERCENT",
                     "AT_API_KEY"}


def test_tuning_without_credentials_is_a_mistake():
    with pytest.raises(SettingsError, match="MOMO_COMMISSION_PERCENT"):
        Settings.from_env({"MOMO_COMMISSION_PERCENT": "2"})
