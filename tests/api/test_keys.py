"""API keys: the service (create, verify, revoke, list) and `gateway apikeys`."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gateway.api import keys as apikeys
from gateway.cli import main
from gateway.orders.models import ApiKey
from gateway.core.models import utcnow


def test_a_token_is_shown_once_and_only_its_hash_is_kept(database):
    with database.session() as s:
        key, token = apikeys.create(s, "  Acme   Market ")
    scheme, prefix, secret = token.split("_", 2)
    assert (scheme, prefix) == ("isk", key.prefix)
    assert len(prefix) == 8 and not prefix.isdigit()
    assert len(secret) >= 43  # 32 random bytes, urlsafe base64
    with database.session() as s:
        row = s.get(ApiKey, key.id)
        assert row.name == "Acme Market"
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.secret_hash, row.prefix, row.name)


def test_keys_are_all_different(database):
    with database.session() as s:
        made = [apikeys.create(s, f"k{i}") for i in range(20)]
    assert len({key.prefix for key, _ in made}) == 20
    assert len({token for _, token in made}) == 20


def test_verify_accepts_the_token_and_nothing_else(database):
    with database.session() as s:
        key, token = apikeys.create(s, "acme")
        other, other_token = apikeys.create(s, "other")
    prefix, secret = apikeys.parse(token)
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with database.session() as s:
        assert apikeys.verify(s, token).id == key.id
        assert apikeys.verify(s, other_token).id == other.id
        for wrong in (f"isk_{prefix}_{flipped}", f"isk_{prefix}_{apikeys.parse(other_token)[1]}",
                      f"isk_zzzzzzzz_{secret}", f"xyz_{prefix}_{secret}", token[:-5], "",
                      f"isk_{prefix}_", "isk__" + secret, token + "x" * 200, f"isk_{prefix}_é"):
            assert apikeys.verify(s, wrong) is None, wrong


def test_revoked_key_no_longer_verifies_and_revoking_twice_keeps_the_time(database):
    with database.session() as s:
        key, token = apikeys.create(s, "acme")
    with database.session() as s:
        first = apikeys.revoke(s, key.prefix).revoked_at
    with database.session() as s:
        assert apikeys.verify(s, token) is None
        assert apikeys.revoke(s, str(key.id)).revoked_at == first


@pytest.mark.parametrize("how", ["id", "prefix", "token_prefix"])
def test_revoke_by_id_or_prefix(database, how):
    with database.session() as s:
        keep, keep_token = apikeys.create(s, "keep")
        key, token = apikeys.create(s, "acme")
    target = {"id": str(key.id), "prefix": key.prefix, "token_prefix": f"isk_{key.prefix}"}[how]
    with database.session() as s:
        assert apikeys.revoke(s, target).id == key.id
    with database.session() as s:
        assert apikeys.verify(s, token) is None
        assert apikeys.verify(s, keep_token) is not None


@pytest.mark.parametrize("missing", ["999", "nosuchpf", "", "99999999999999999999"])
def test_revoking_an_unknown_key_raises(database, missing):
    with database.session() as s:
        with pytest.raises(apikeys.KeyNotFound):
            apikeys.revoke(s, missing)


def test_last_used_is_written_at_most_once_a_minute(database):
    with database.session() as s:
        key, token = apikeys.create(s, "acme")
        assert key.last_used_at is None
    with database.session() as s:
        apikeys.verify(s, token)
    with database.session() as s:
        first = s.get(ApiKey, key.id).last_used_at
        assert first is not None and utcnow() - first < timedelta(seconds=30)
    with database.session() as s:
        apikeys.verify(s, token)
    with database.session() as s:
        row = s.get(ApiKey, key.id)
        assert row.last_used_at == first  # within the minute: untouched
        row.last_used_at = first - timedelta(minutes=2)
    with database.session() as s:
        apikeys.verify(s, token)
    with database.session() as s:
        assert s.get(ApiKey, key.id).last_used_at > first


def test_a_bad_name_is_refused(database):
    with database.session() as s:
        for name in ("", "   ", "x" * 65, "tab\u0007bell"):
            with pytest.raises(ValueError):
                apikeys.create(s, name)
        assert s.scalars(select(ApiKey)).all() == []


def test_list_shows_every_key_revoked_too(database):
    with database.session() as s:
        a, _ = apikeys.create(s, "a")
        b, _ = apikeys.create(s, "b")
        apikeys.revoke(s, a.id)
    with database.session() as s:
        listed = apikeys.list_keys(s)
    assert [(k.name, k.revoked_at is not None) for k in listed] == [("a", True), ("b", False)]


# --- the command line ---------------------------------------------------------------


def run(gateway, *args: str):
    url = gateway.db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["apikeys", *args], env={"DATABASE_URL": url},
                                catch_exceptions=False)
    return result


def columns(listing: str, prefix: str) -> dict:
    """The row of `prefix` in `gateway apikeys list`, by column title."""
    lines = listing.splitlines()
    titles = re.split(r"\s{2,}", lines[0].strip())
    row = next(line for line in lines[1:] if f"  {prefix}  " in line)
    return dict(zip(titles, re.split(r"\s{2,}", row.strip())))


def test_cli_create_list_revoke_round_trip(gateway):
    created = run(gateway, "create", "Kigali Fresh")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("isk_") and "\n" not in token  # the token alone on stdout
    assert "shown only once" in created.stderr
    auth = {"Authorization": f"Bearer {token}"}
    assert gateway.http.get("/api/v1/products", headers=auth).status_code == 200

    prefix = apikeys.parse(token)[0]
    listed = run(gateway, "list")
    assert listed.exit_code == 0
    assert apikeys.parse(token)[1] not in listed.stdout  # never the secret
    row = columns(listed.stdout, prefix)
    assert row["NAME"] == "Kigali Fresh" and row["PREFIX"] == prefix
    assert row["LAST USED"] != "-" and row["REVOKED"] == "-"  # used by the API call above

    revoked = run(gateway, "revoke", prefix)
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert gateway.http.get("/api/v1/products", headers=auth).status_code == 401
    assert columns(run(gateway, "list").stdout, prefix)["REVOKED"] != "-"


def test_cli_revoke_by_id_and_unknown(gateway):
    token = run(gateway, "create", "acme").stdout.strip()
    with gateway.db.session() as s:
        key_id = apikeys.verify(s, token).id
    assert run(gateway, "revoke", str(key_id)).exit_code == 0
    missing = run(gateway, "revoke", "nosuchpf")
    assert missing.exit_code == 1
    assert "no API key" in missing.stderr


def test_cli_create_refuses_a_bad_name(gateway):
    result = run(gateway, "create", "   ")
    assert result.exit_code == 1
    assert "name must be" in result.stderr
