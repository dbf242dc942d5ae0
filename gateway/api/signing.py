"""The webhook signature: `Isoko-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
of "<t>.<body>" keyed with the webhook's secret>`.

The time is inside what is signed, so a receiver that refuses old `t` values
(the README suggests five minutes) cannot be fed a recorded delivery later.
`verify` is what a receiver does; the tests' receiver uses it, and the README
shows the same in a few lines.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Isoko-Signature"
SECRET_PREFIX = "whsec_"
TOLERANCE = 300  # seconds a receiver should accept between `t` and its clock


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, now: float | None = None) -> str:
    """The header's value for `body`, signed now."""
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, value: str, body: bytes, *, now: float | None = None,
           tolerance: int = TOLERANCE) -> bool:
    """True when `value` (the header) signs `body` with `secret` within `tolerance`."""
    parts = dict(item.split("=", 1) for item in value.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
