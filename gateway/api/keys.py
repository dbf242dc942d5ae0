"""API keys for buyer platforms: create, verify, revoke, list.

A token reads `isk_<prefix>_<secret>`. The prefix (8 characters, lowercase
letters and digits, never all digits so it cannot be mistaken for an id) is
stored in clear to find the key; of the secret (32 random bytes, urlsafe
base64) only the SHA-256 is stored, compared in constant time. The token is
shown once, when the key is created, and cannot be recovered afterwards.

Like `gateway.market`, every function takes the caller's `Session` and never
commits.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.orders.models import ApiKey
from gateway.core.models import utcnow

SCHEME = "isk"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
NAME_MAX = 64
# last_used_at is written at most this often per key: a busy platform must
# not turn every read into a write.
TOUCH_EVERY = timedelta(minutes=1)
# A token longer than this is not one of ours; refusing it bounds the work.
TOKEN_MAX = 120

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_CREATE_ATTEMPTS = 8
# Compared against when the prefix is unknown, so both paths hash and compare.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class KeyNotFound(LookupError):
    """No API key with that id or prefix."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_prefix() -> str:
    while True:
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if not prefix.isdigit():
            return prefix


def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not 1 <= len(cleaned) <= NAME_MAX or not cleaned.isprintable():
        raise ValueError(f"name must be 1-{NAME_MAX} printable characters")
    return cleaned


def create(s: Session, name: str) -> tuple[ApiKey, str]:
    """A new key named `name` and its token (the only time the token exists)."""
    cleaned = _clean_name(name)
    for _ in range(_CREATE_ATTEMPTS):
        prefix, secret = _new_prefix(), secrets.token_urlsafe(SECRET_BYTES)
        key = ApiKey(name=cleaned, prefix=prefix, secret_hash=_hash(secret), created_at=utcnow())
        try:
            with s.begin_nested():  # a prefix collision must not poison the caller's transaction
                s.add(key)
        except IntegrityError:
            continue
        return key, f"{SCHEME}_{prefix}_{secret}"
    raise RuntimeError("could not allocate a free API key prefix")


def parse(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed token, else None."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME:
        return None
    prefix, secret = parts[1], parts[2]
    if len(prefix) != PREFIX_LENGTH or not secret or not secret.isascii():
        return None
    return prefix, secret


def verify(s: Session, token: str) -> ApiKey | None:
    """The live key this token belongs to, or None (malformed, unknown,
    wrong secret, revoked). Records the use at most once a minute."""
    parsed = parse(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    key = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    expected = key.secret_hash if key is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(secret), expected)
    if key is None or not matches or key.revoked_at is not None:
        return None
    _touch(s, key)
    return key


def _touch(s: Session, key: ApiKey) -> None:
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    # Conditional, so concurrent requests write once and never move it back.
    s.execute(update(ApiKey)
              .where(ApiKey.id == key.id,
                     or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - TOUCH_EVERY))
              .values(last_used_at=now)
              .execution_options(synchronize_session=False))
    key.last_used_at = now


def find(s: Session, id_or_prefix: str | int) -> ApiKey:
    """The key with this id (all digits) or prefix (also accepted as `isk_<prefix>`)."""
    text = str(id_or_prefix).strip()
    if text.startswith(f"{SCHEME}_"):
        text = text[len(SCHEME) + 1:].split("_", 1)[0]
    if text.isdigit():
        key = s.get(ApiKey, int(text)) if int(text) < 2**31 else None
    else:
        key = s.scalar(select(ApiKey).where(ApiKey.prefix == text))
    if key is None:
        raise KeyNotFound(f"no API key {id_or_prefix!r}")
    return key


def revoke(s: Session, id_or_prefix: str | int) -> ApiKey:
    """Revoke a key (its token stops working at once). Revoking twice keeps
    the first time. Raises KeyNotFound."""
    key = find(s, id_or_prefix)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        s.flush()
    return key


def list_keys(s: Session) -> list[ApiKey]:
    """Every key, revoked ones too, oldest first."""
    return list(s.scalars(select(ApiKey).order_by(ApiKey.id)))
