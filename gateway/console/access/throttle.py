"""Failed console log-ins per client address, in Redis.

The rule (the README's "Console log-in" says the same):

- An address may make `LOGIN_ATTEMPTS_PER_ADDRESS` (default 4, at most 4)
  failed log-ins; then it is refused, without a password being checked or
  any account touched, until it has been quiet for LOCK_OUT (15 min). Every
  failure and every refusal restarts that quiet period; a success does not
  clear the count (an operator with an account could otherwise reset it
  between guesses at another's).
- An account locks after MAX_FAILED_LOGINS (5) failures in a run, a run
  ending after LOCK_OUT without a failure (`operators.authenticate`).

One address therefore never locks an account: a run's failures are each
less than LOCK_OUT apart, so they all fall in one count of that address,
which stops at 4. Locking an account takes failures from two addresses or
more, which is what the account lock-out is for (guessing spread over many
machines). The address is `request.remote_addr`, behind TRUSTED_PROXIES
the one the proxies saw (`gateway.web.callbacks_guard`).
"""
from __future__ import annotations

import redis

from gateway.operators.accounts import LOCK_OUT

KEY = "isoko:login:fail:{}"
# A minute more than the account's quiet period, so that clocks a little
# apart (the app's, Redis's) never end the address's count first.
TTL = int(LOCK_OUT.total_seconds()) + 60


def _key(address: str | None) -> str:
    return KEY.format(address or "unknown")


def blocked(client: redis.Redis, address: str | None, limit: int) -> bool:
    """True when `address` has used up its failed log-ins; the refusal
    restarts its quiet period."""
    pipe = client.pipeline(transaction=False)
    pipe.get(_key(address))
    pipe.expire(_key(address), TTL, xx=True)
    count, _ = pipe.execute()
    return int(count or 0) >= limit


def failed(client: redis.Redis, address: str | None) -> int:
    """Count one failed log-in of `address`; its count now."""
    pipe = client.pipeline(transaction=False)
    pipe.incr(_key(address))
    pipe.expire(_key(address), TTL)
    count, _ = pipe.execute()
    return int(count)
