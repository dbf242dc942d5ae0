"""Lua scripts on Redis: several commands for the price of one.

A hop's Redis work is a handful of small commands; sent one by one in a
pipeline, each costs the client more (packing, parsing its reply) than the
server spends on it. A script runs them all on the server as one command,
EVALSHA, and answers once.

`Script(text)` knows its SHA1 without asking the server. `run` sends
EVALSHA alone (`send`: on the client's own pool, connection and retry,
without its per-command layers); `add` puts it on a pipeline the caller executes, and
`settle` reads its result there. A server that does not hold the script
(restarted, flushed, or a replica just promoted by Sentinel) answers
NOSCRIPT: the script is then loaded and sent again, alone, so the other
commands of a pipeline are never sent twice. A script fails or runs whole:
Redis runs it atomically.

The embedded store (fakeredis) runs the same scripts through `lupa`.
"""
from __future__ import annotations

import hashlib

import redis
from redis.exceptions import NoScriptError


class Script:
    """One Lua script, run by its SHA1 on any client or pipeline."""

    def __init__(self, text: str):
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    def run(self, client, keys: list[str], args: list) -> object:
        """The script's result on `client` (1 round trip, 2 more when the
        server must first be given the script)."""
        try:
            return send(client, "EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self._load_and_run(client, keys, args)

    def add(self, pipe, keys: list[str], args: list) -> None:
        """Put the script on `pipe` (which the caller executes with
        `raise_on_error=False` and hands to `settle`)."""
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    def settle(self, client, result: object, keys: list[str], args: list) -> object:
        """The script's result from a pipeline's `result` for it: run again
        alone after loading it when the server did not hold it; any other
        error is raised."""
        if isinstance(result, NoScriptError):
            return self._load_and_run(client, keys, args)
        if isinstance(result, Exception):
            raise result
        return result

    def _load_and_run(self, client, keys: list[str], args: list) -> object:
        client.script_load(self.text)
        return send(client, "EVALSHA", self.sha, len(keys), *keys, *args)


def send(client, *command) -> object:
    """`client.execute_command(*command)` for a command whose reply the
    client would not parse further (EVALSHA's is the script's own): a
    connection from the client's pool, its retry (one, on a fresh
    connection, after a connection error or a timeout) and its timeouts,
    without the per-command layers redis-py 8 adds around them (metrics
    hooks, dispatch), which cost a third of a hop's call (about 10 us).
    Anything else that takes redis-py's commands (a stand-in recording
    them, as the bench's session filler is) gets `execute_command`."""
    if not isinstance(client, redis.Redis):
        return client.execute_command(*command)
    pool = client.connection_pool
    connection = pool.get_connection()

    def once() -> object:
        connection.send_command(*command)
        return connection.read_response()

    try:
        return connection.retry.call_with_retry(once, lambda _error: connection.disconnect())
    finally:
        pool.release(connection)
