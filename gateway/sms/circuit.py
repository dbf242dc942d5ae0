"""The circuit: a long provider outage pauses sending instead of burning
every message's attempts. Its state lives in Redis, shared by every worker.

- closed: sends go out. Each transient provider failure
  (`providers.base.outage`: 5xx, 429, no connection, no answer) adds one to
  a counter; any send the provider answered resets it.
- open: after `threshold` failures in a row, the open flag is set for
  `open_seconds` and drains claim nothing (as during a hold). The sends in
  flight when it opened, and every later failure while it stays tripped,
  are not counted as attempts: the message was not at fault.
- half-open: the open flag expired but no send has succeeded since: one
  drain, holding the probe flag, sends a single message. Answered: the
  circuit closes and everything held goes. Another outage failure: open again.

Every key has a TTL or is cleared by a success, so a crashed worker never
leaves the circuit stuck: the probe flag expires after one send's time.
"""
from __future__ import annotations

import logging

from redis import Redis

from gateway.sms.keys import (
    CIRCUIT_FAILURES_KEY,
    CIRCUIT_OPEN_KEY,
    CIRCUIT_PROBE_KEY,
    CIRCUIT_TRIPPED_KEY,
)

log = logging.getLogger("gateway.sms.jobs")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
COUNTER_TTL = 3600  # seconds: failures an hour apart are not "in a row"


class Circuit:
    """One process's handle on the shared circuit."""

    def __init__(self, connection: Redis, threshold: int, open_seconds: float,
                 probe_seconds: float) -> None:
        self.connection, self.threshold = connection, threshold
        self.open_ms = max(1, int(open_seconds * 1000))
        self.probe_ms = max(1, int(probe_seconds * 1000))

    def state(self) -> str:
        """closed, open or half_open (one round trip)."""
        is_open, tripped = self.connection.mget(CIRCUIT_OPEN_KEY, CIRCUIT_TRIPPED_KEY)
        if is_open:
            return OPEN
        return HALF_OPEN if tripped else CLOSED

    def take_probe(self) -> bool:
        """In half-open: True for the one caller allowed to send the probe."""
        return bool(self.connection.set(CIRCUIT_PROBE_KEY, "1", nx=True, px=self.probe_ms))

    def record(self, failures: int, answered: int) -> bool:
        """Count a batch's outage failures and answered sends; returns True
        when the circuit is tripped afterwards (failures are then not attempts)."""
        if answered:
            self._close()
            if not failures:
                return False
        if not failures:
            return False
        pipe = self.connection.pipeline(transaction=False)
        pipe.incrby(CIRCUIT_FAILURES_KEY, failures)
        pipe.expire(CIRCUIT_FAILURES_KEY, COUNTER_TTL)
        pipe.exists(CIRCUIT_TRIPPED_KEY)
        count, _, tripped = pipe.execute()
        if tripped or count >= self.threshold:
            self._open(count, bool(tripped))
            return True
        return False

    def _open(self, count: int, again: bool) -> None:
        pipe = self.connection.pipeline(transaction=False)
        pipe.set(CIRCUIT_OPEN_KEY, "1", px=self.open_ms)
        pipe.set(CIRCUIT_TRIPPED_KEY, "1")
        pipe.delete(CIRCUIT_PROBE_KEY)
        pipe.execute()
        if not again:
            log.warning("SMS circuit OPEN: %d transient provider failures in a row; sending pauses "
                        "for %.1f s, then one message probes. Messages wait, their attempts kept.",
                        count, self.open_ms / 1000)

    def _close(self) -> None:
        pipe = self.connection.pipeline(transaction=False)
        pipe.delete(CIRCUIT_FAILURES_KEY, CIRCUIT_OPEN_KEY, CIRCUIT_PROBE_KEY)
        pipe.delete(CIRCUIT_TRIPPED_KEY)
        closed = pipe.execute()[1]
        if closed:
            log.warning("SMS circuit closed: the provider answered again; held messages go out")
