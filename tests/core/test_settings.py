"""Settings.from_env: defaults, every validation rule, and secrets kept out of output."""
from __future__ import annotations

import dataclasses
import os

import pytest

from gateway.core.db import Database, pool_limits
from gateway.core.settings import Settings, SettingsError

TOKEN = "cb-token-0123456789abcdef"
API_KEY = "atsk_live_secret_value_42"
SECRET = "flask-secret-key-do-not-print-0123456789"  # 32+ bytes, as `web` needs


def problems_for(env: dict[str, str], mode: str = "serve") -> list[str]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env, mode=mode)
    return caught.value.problems


def test_defaults_in_serve_mode(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///" + str(tmp_path / "isoko.db")
    assert settings.redis_url is None and settings.embedded_redis
    assert settings.ussd_service_code == "*384*7#"
    assert settings.callback_token is None
    assert (settings.at_username, settings.at_api_key) == (None, None)
    assert settings.at_sender_id is None and settings.at_api_url is None
    assert settings.sms_provider == "outbox"
    assert settings.session_ttl_seconds == 300
    assert settings.resume_ttl_seconds == 600
    assert settings.screen_limit == 160
    assert settings.log_level == "INFO"
    assert settings.tz == "Africa/Kigali" and str(settings.zone) == "Africa/Kigali"


def test_serve_generates_a_fresh_secret_key_per_start():
    first, second = Settings.from_env({}), Settings.from_env({})
    assert len(first.secret_key) >= 40
    assert first.secret_key != second.secret_key


def test_reads_os_environ_when_no_mapping_given(monkeypatch):
    monkeypatch.setenv("USSD_SERVICE_CODE", "*123#")
    assert Settings.from_env().ussd_service_code == "*123#"


def test_every_variable_is_read():
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg://isoko@db/isoko",
            "REDIS_URL": "redis://cache:6379/0",
            "SECRET_KEY": SECRET,
            "USSD_SERVICE_CODE": "*123*45*6#",
            "CALLBACK_TOKEN": TOKEN,
            "AT_USERNAME": "isoko",
            "AT_API_KEY": API_KEY,
            "AT_SENDER_ID": "ISOKO",
            "AT_API_URL": "http://127.0.0.1:9000/",
            "USSD_SESSION_TTL": "120",
            "USSD_RESUME_TTL": "900",
            "USSD_SCREEN_LIMIT": "182",
            "LOG_LEVEL": "debug",
            "TZ": "Europe/Paris",
        },
        mode="web",
    )
    assert settings.database_url == "postgresql+psycopg://isoko@db/isoko"
    assert settings.redis_url == "redis://cache:6379/0" and not settings.embedded_redis
    assert settings.secret_key == SECRET
    assert settings.ussd_service_code == "*123*45*6#"
    assert settings.callback_token == TOKEN
    assert settings.sms_provider == "africastalking"
    assert settings.at_sender_id == "ISOKO"
    assert settings.at_api_url == "http://127.0.0.1:9000"  # the SDK appends "/version1/..."
    assert (settings.session_ttl_seconds, settings.resume_ttl_seconds) == (120, 900)
    assert settings.screen_limit == 182
    assert settings.log_level == "DEBUG"
    assert settings.tz == "Europe/Paris"


def test_empty_variables_count_as_unset():
    settings = Settings.from_env({"REDIS_URL": "", "CALLBACK_TOKEN": " ", "AT_USERNAME": ""})
    assert settings.redis_url is None
    assert settings.callback_token is None
    assert settings.sms_provider == "outbox"


def test_heroku_style_postgres_scheme_is_accepted():
    settings = Settings.from_env({"DATABASE_URL": "postgres://u@h/d"})
    assert settings.database_url == "postgresql://u@h/d"


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.screen_limit = 100  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "mode", "variable", "reason"),
    [
        ({"CALLBACK_TOKEN": TOKEN}, "web", "SECRET_KEY", "required"),
        ({}, "worker", "SECRET_KEY", "required"),
        ({"DATABASE_URL": "not a url"}, "serve", "DATABASE_URL", "SQLAlchemy URL"),
        ({"DATABASE_URL": "postgresql://h:port/d"}, "serve", "DATABASE_URL", "SQLAlchemy URL"),
        ({"REDIS_URL": "http://cache:6379"}, "serve", "REDIS_URL", "redis://"),
        ({"USSD_SERVICE_CODE": "384*7#"}, "serve", "USSD_SERVICE_CODE", "USSD code"),
        ({"USSD_SERVICE_CODE": "*384*7"}, "serve", "USSD_SERVICE_CODE", "USSD code"),
        ({"USSD_SERVICE_CODE": "*38a*7#"}, "serve", "USSD_SERVICE_CODE", "USSD code"),
        ({"USSD_SERVICE_CODE": "*#"}, "serve", "USSD_SERVICE_CODE", "USSD code"),
        ({"USSD_SERVICE_CODE": "*384**7#"}, "serve", "USSD_SERVICE_CODE", "USSD code"),
        ({"CALLBACK_TOKEN": "short"}, "serve", "CALLBACK_TOKEN", "at least 16"),
        ({"AT_USERNAME": "isoko"}, "serve", "AT_API_KEY", "missing"),
        ({"AT_API_KEY": API_KEY}, "serve", "AT_USERNAME", "missing"),
        ({"AT_API_URL": "ftp://example.org"}, "serve", "AT_API_URL", "http"),
        ({"AT_API_URL": "example.org/api"}, "serve", "AT_API_URL", "http"),
        ({"AT_API_URL": "https://"}, "serve", "AT_API_URL", "http"),
        ({"USSD_SESSION_TTL": "five"}, "serve", "USSD_SESSION_TTL", "whole number"),
        ({"USSD_SESSION_TTL": "29"}, "serve", "USSD_SESSION_TTL", "between 30 and 3600"),
        ({"USSD_SESSION_TTL": "3601"}, "serve", "USSD_SESSION_TTL", "between 30 and 3600"),
        ({"USSD_RESUME_TTL": "1.5"}, "serve", "USSD_RESUME_TTL", "whole number"),
        ({"USSD_RESUME_TTL": "0"}, "serve", "USSD_RESUME_TTL", "between"),
        ({"USSD_SCREEN_LIMIT": "119"}, "serve", "USSD_SCREEN_LIMIT", "between 120 and 182"),
        ({"USSD_SCREEN_LIMIT": "183"}, "serve", "USSD_SCREEN_LIMIT", "between 120 and 182"),
        ({"LOG_LEVEL": "LOUD"}, "serve", "LOG_LEVEL", "one of"),
        ({"DELIVERY_DAYS": "0"}, "serve", "DELIVERY_DAYS", "between 1 and 90"),
        ({"DELIVERY_DAYS": "a week"}, "serve", "DELIVERY_DAYS", "whole number"),
        ({"TZ": "Africa/Kigaly"}, "serve", "TZ", "IANA time zone"),
        ({"TZ": "../../etc/passwd"}, "serve", "TZ", "IANA time zone"),
        ({"TZ": "EAT-3"}, "serve", "TZ", "IANA time zone"),
    ],
)
def test_each_invalid_variable_is_named_with_its_reason(env, mode, variable, reason):
    problems = problems_for(env, mode)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{variable}: ")
    assert reason in problems[0]


@pytest.mark.parametrize(("raw", "zone"), [("UTC", "UTC"), (":Africa/Kigali", "Africa/Kigali"),
                                           (" Europe/London ", "Europe/London"), ("", "Africa/Kigali")])
def test_time_zones_are_iana_names(raw, zone):
    assert Settings.from_env({"TZ": raw}).tz == zone


@pytest.mark.parametrize(
    "code", ["*384*7#", "*123#", "*1*2*3*4#"]
)
def test_valid_service_codes(code):
    assert Settings.from_env({"USSD_SERVICE_CODE": code}).ussd_service_code == code


@pytest.mark.parametrize(
    ("variable", "low", "high"),
    [("USSD_SESSION_TTL", "30", "3600"), ("USSD_SCREEN_LIMIT", "120", "182"), ("DELIVERY_DAYS", "1", "90")],
)
def test_integer_bounds_are_inclusive(variable, low, high):
    attr = {"USSD_SESSION_TTL": "session_ttl_seconds", "USSD_SCREEN_LIMIT": "screen_limit",
            "DELIVERY_DAYS": "delivery_days"}[variable]
    assert getattr(Settings.from_env({variable: low}), attr) == int(low)
    assert getattr(Settings.from_env({variable: high}), attr) == int(high)


def test_all_problems_are_reported_at_once():
    env = {
        "REDIS_URL": "memcached://x",
        "USSD_SERVICE_CODE": "384",
        "CALLBACK_TOKEN": "abc",
        "AT_USERNAME": "isoko",
        "AT_API_URL": "nowhere",
        "USSD_SESSION_TTL": "1",
        "USSD_RESUME_TTL": "x",
        "USSD_SCREEN_LIMIT": "999",
        "LOG_LEVEL": "chatty",
        "TZ": "Mars/Olympus_Mons",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env, mode="web")
    named = {p.split(":", 1)[0] for p in caught.value.problems}
    assert named == {
        "SECRET_KEY", "REDIS_URL", "USSD_SERVICE_CODE", "CALLBACK_TOKEN", "AT_API_KEY",
        "AT_API_URL", "USSD_SESSION_TTL", "USSD_RESUME_TTL", "USSD_SCREEN_LIMIT", "LOG_LEVEL", "TZ",
    }
    message = str(caught.value)
    for variable in named:
        assert variable in message


def test_errors_never_echo_secret_values():
    env = {
        "CALLBACK_TOKEN": "tiny-secret",
        "AT_API_KEY": API_KEY,
        "DATABASE_URL": "postgresql://u:db-password@h:notaport/d",
        "AT_API_URL": "ftp://user:url-password@example.org",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    for secret in ("tiny-secret", API_KEY, "db-password", "url-password"):
        assert secret not in message
    assert len(caught.value.problems) == 4


def test_repr_and_str_mask_secrets():
    settings = Settings.from_env(
        {
            "SECRET_KEY": SECRET,
            "CALLBACK_TOKEN": TOKEN,
            "AT_USERNAME": "isoko",
            "AT_API_KEY": API_KEY,
            "DATABASE_URL": "postgresql+psycopg://isoko:db-password@db/isoko",
            "REDIS_URL": "redis://:redis-password@cache:6379/0",
        },
        mode="web",
    )
    for text in (repr(settings), str(settings), f"{settings}", repr([settings])):
        for secret in (SECRET, TOKEN, API_KEY, "db-password", "redis-password"):
            assert secret not in text
        assert "secret_key='***'" in text
        assert "callback_token='***'" in text
        assert "at_api_key='***'" in text
        assert "at_username='isoko'" in text


def test_repr_of_generated_secret_is_masked_too():
    settings = Settings.from_env({})
    assert settings.secret_key not in repr(settings)
    assert "callback_token=None" in repr(settings)


def test_direct_construction_has_defaults_for_tests(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(redis_url="redis://localhost:6379/9")
    assert settings.database_url.endswith(os.sep + "isoko.db")
    assert not settings.embedded_redis
    assert settings.secret_key


def test_sms_tuning_is_read_and_checked_with_every_other_variable():
    settings = Settings.from_env({"SMS_RATE_PER_SECOND": "35", "SMS_RETRY_BASE_SECONDS": "2.5"})
    assert (settings.sms.rate_per_second, settings.sms.retry_base) == (35, 2.5)
    assert Settings.from_env({}).sms.rate_per_second == 20
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SMS_RATE_PER_SECOND": "abc", "SMS_CONCURRENCY": "0", "USSD_SESSION_TTL": "x"})
    named = sorted(problem.split(":")[0] for problem in caught.value.problems)
    assert named == ["SMS_CONCURRENCY", "SMS_RATE_PER_SECOND", "USSD_SESSION_TTL"]
    assert "must be a number" in str(caught.value) and "abc" in str(caught.value)


def test_body_limits_have_defaults_and_bounds():
    default = Settings.from_env({})
    assert (default.max_body_bytes, default.console_max_body_bytes) == (64 * 1024, 2 * 1024 * 1024)
    chosen = Settings.from_env({"MAX_BODY_BYTES": "4096", "CONSOLE_MAX_BODY_BYTES": "65536"})
    assert (chosen.max_body_bytes, chosen.console_max_body_bytes) == (4096, 65536)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MAX_BODY_BYTES": "4095", "CONSOLE_MAX_BODY_BYTES": "lots"})
    named = {p.split(":", 1)[0] for p in caught.value.problems}
    assert named == {"MAX_BODY_BYTES", "CONSOLE_MAX_BODY_BYTES"}


def test_the_delivery_guarantee_settings_are_read_and_checked_together():
    settings = Settings.from_env({"SMS_READ_TIMEOUT_SECONDS": "4", "SMS_LEASE_SECONDS": "60",
                                  "SMS_UNKNOWN_WAIT_SECONDS": "900", "SMS_CIRCUIT_FAILURES": "5",
                                  "SMS_CIRCUIT_OPEN_SECONDS": "12.5"})
    sms = settings.sms
    assert (sms.provider_timeout, sms.read_timeout, sms.lease, sms.unknown_wait) == ((3.05, 4.0), 4.0, 60, 900)
    assert (sms.circuit_failures, sms.circuit_open) == (5, 12.5)
    assert Settings.from_env({}).sms.read_timeout == 9.05  # the SDK's own
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"SMS_READ_TIMEOUT_SECONDS": "0", "SMS_CIRCUIT_FAILURES": "many",
                           "SMS_UNKNOWN_WAIT_SECONDS": "-1"})
    assert sorted(p.split(":")[0] for p in caught.value.problems) == [
        "SMS_CIRCUIT_FAILURES", "SMS_READ_TIMEOUT_SECONDS", "SMS_UNKNOWN_WAIT_SECONDS"]
    # A lease shorter than one send would hand live sends to the sweeper.
    with pytest.raises(SettingsError, match="SMS_LEASE_SECONDS: must be longer than one send"):
        Settings.from_env({"SMS_READ_TIMEOUT_SECONDS": "30", "SMS_LEASE_SECONDS": "20"})


def test_sentinels_and_the_pool_are_read_and_checked():
    settings = Settings.from_env({"REDIS_SENTINELS": "10.0.0.1:26379, sentinel-b:26380",
                                  "REDIS_SENTINEL_MASTER": "isoko", "DB_POOL_SIZE": "8",
                                  "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "2"})
    assert settings.redis_sentinels == (("10.0.0.1", 26379), ("sentinel-b", 26380))
    assert settings.redis_sentinel_master == "isoko" and not settings.embedded_redis
    assert (settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout) == (8, 0, 2.0)
    defaults = Settings.from_env({})
    assert defaults.redis_sentinels == () and defaults.embedded_redis
    assert (defaults.db_pool_size, defaults.db_max_overflow, defaults.db_pool_timeout) == (4, 2, 3.0)
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"REDIS_SENTINELS": "10.0.0.1,x:99999", "DB_POOL_SIZE": "0",
                           "DB_POOL_TIMEOUT": "60"})
    problems = str(bad.value)
    for name in ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "DB_POOL_SIZE", "DB_POOL_TIMEOUT"):
        assert name in problems, problems
    with pytest.raises(SettingsError, match="REDIS_SENTINEL_MASTER: needs REDIS_SENTINELS"):
        Settings.from_env({"REDIS_SENTINEL_MASTER": "isoko"})


def test_the_pool_bounds_a_postgresql_engine_and_leaves_sqlite_alone():
    settings = Settings.from_env({"DB_POOL_SIZE": "3", "DB_MAX_OVERFLOW": "1", "DB_POOL_TIMEOUT": "2"})
    pg = Database("postgresql://isoko@127.0.0.1:1/isoko", pool_limits(settings))
    assert (pg.engine.pool.size(), pg.engine.pool._max_overflow, pg.engine.pool._timeout) == (3, 1, 2.0)
    assert Database("sqlite://", pool_limits(settings)).dialect == "sqlite"
