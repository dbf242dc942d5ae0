"""The producer profile kept in Redis: what the first hop needs to greet a
registered caller without SQL.

A profile is the values `identify` gives a session (`producer_id`, the name
as shown, `lang`, `district`), stored as compact JSON under the phone. The
first hop reads it in the same pipeline as the session (`SessionStore.begin`);
a miss falls back to SQL and the hop fills it on the pipeline that saves the
session, so neither costs a round trip of its own. Registration writes it;
anything that changes those values must call `forget` (or `put`) after its
commit. The TTL bounds how long a change made behind the gateway's back (a
hand-edited row) can be served stale, and keeps numbers that stopped dialling
from filling Redis.
"""
from __future__ import annotations

import orjson

PREFIX = "isoko:ussd:p:"
TTL_SECONDS = 7 * 24 * 3600
# The values a profile carries, by their short names in Redis.
FIELDS = {"producer_id": "i", "name": "n", "lang": "l", "district": "d"}


def key(phone: str) -> str:
    """Where the profile of the producer registered with `phone` lives."""
    return PREFIX + phone


def dumps(values: dict) -> bytes:
    """The stored form of a profile: only FIELDS, short names, compact UTF-8
    JSON (orjson, as the session records: read on every first hop)."""
    return orjson.dumps({short: values[name] for name, short in FIELDS.items()})


def loads(raw: bytes | str | None) -> dict | None:
    """The session values of a stored profile; None for a miss or a value
    this code cannot read (then the hop asks SQL and rewrites it)."""
    if not raw:
        return None
    try:
        stored = orjson.loads(raw)
        return {name: stored[short] for name, short in FIELDS.items()}
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def put(pipe, phone: str, values: dict) -> None:
    """Add the write of `phone`'s profile to a Redis pipeline (or client)."""
    pipe.set(key(phone), dumps(values), ex=TTL_SECONDS)


def forget(client, phone: str) -> None:
    """Drop `phone`'s profile: the next first hop reads SQL and refills it."""
    client.delete(key(phone))
