"""Claiming, sending and recording SMS: the machinery behind `workers.sms`.

The row is the truth, Redis only schedules:

- `claim(ids)`: one `UPDATE messages SET status='sending' WHERE id IN (...)
  AND status='queued' AND due` with RETURNING. Row locks (PostgreSQL) or the
  single writer (SQLite) make it atomic: two workers never get the same row.
  Rows too old or whose recipient opted out are dropped in the same
  transaction. A claimed row stays in the due set, scored at the end of its
  lease, so a row whose worker died comes back into view (see `workers.sweep`).
- `send(claimed)`: one provider call; runs in a pool thread, no SQL.
- `record(results)`: one transaction for a batch of finished sends, guarded
  by `status='sending'`; applies delivery reports that arrived before the
  send was recorded; then fixes the due set (remove, or re-score a retry).
  Outage failures feed the circuit (`gateway.sms.circuit`); while it is
  tripped they are "paused" (queued again, not an attempt). A read timeout
  (UNKNOWN) is resent only for at-least-once kinds (`gateway.sms.guarantees`);
  any other kind becomes `unknown`, settled by a delivery report or, after
  SMS_UNKNOWN_WAIT_SECONDS, `review` (see `gateway.sms.sweep`).
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import and_, bindparam, or_, select, update

from gateway.core.db import Database
from gateway.core.models import utcnow
from gateway.core.phones import mask
from gateway.core.settings import SmsConfig
from gateway.sms import reports
from gateway.sms import texts as smstexts
from gateway.sms.circuit import HALF_OPEN, Circuit
from gateway.sms.guarantees import at_least_once
from gateway.sms.keys import CIRCUIT_OPEN_KEY, DUE_KEY, HOLD_KEY
from gateway.sms.models import Message, MessageStatus, OptOut
from gateway.sms.providers import Outcome, Provider, SendResult
from gateway.sms.providers.base import is_credential_hold, outage
from gateway.sms.throttle import Throttle

log = logging.getLogger("gateway.sms.jobs")

# Replies the opted-out still get: the confirmation of their STOP (the last
# SMS they receive; a seller's also says their listings are paused) and the
# answer to a HELP they sent themselves.
OPT_OUT_EXEMPT = frozenset({"sms_stop", "sms_stop_seller", "sms_help"})
UNKNOWN_OUTCOME = "unknown_outcome"
STALE_RESCORE = 60.0  # seconds before a drain looks again at a row another worker holds


@dataclass(frozen=True)
class Claimed:
    """A row this worker now owns (status `sending`), as it was claimed."""

    id: int
    recipient: str
    text: str
    kind: str
    attempts: int  # provider calls made before this one


@dataclass
class Claim:
    """What a claim got: rows to send now, and what became of the other ids."""

    sendable: list[Claimed]
    dropped: dict[int, str]  # id -> reason
    skipped: dict[int, str]  # id -> status found (or "missing")


class Sender:
    """One worker's view of the SMS pipeline; `record` and `claim` are for one
    thread (the drain's), `send` is safe from any thread."""

    def __init__(self, db: Database, connection: Redis, provider: Provider, config: SmsConfig,
                 sender_id: str | None, max_age: timedelta) -> None:
        self.db, self.connection, self.provider = db, connection, provider
        self.config, self.sender_id, self.max_age = config, sender_id, max_age
        self.throttle = Throttle(connection, sender_id, config.rate_per_second)
        # A probe's flag outlives one send (connect + read timeouts) and a little more.
        self.circuit = Circuit(connection, config.circuit_failures, config.circuit_open,
                               probe_seconds=config.read_timeout + 10)

    # --- scheduling in Redis -----------------------------------------------------------

    def due_ids(self, limit: int) -> list[int]:
        if limit <= 0:
            return []
        raw = self.connection.zrangebyscore(DUE_KEY, "-inf", time.time(), start=0, num=limit)
        return [int(x) for x in raw]

    def next_due(self) -> float | None:
        """When the earliest entry of the due set is due (epoch seconds)."""
        first = self.connection.zrange(DUE_KEY, 0, 0, withscores=True)
        return first[0][1] if first else None

    def held(self) -> bool:
        """True while nothing may be claimed: a hold, or the circuit open."""
        return bool(self.connection.exists(HOLD_KEY, CIRCUIT_OPEN_KEY))

    def allowance(self, want: int) -> int:
        """How many of `want` rows may be claimed now: all while the circuit
        is closed, the one probe (for one caller) while half-open, else 0."""
        state = self.circuit.state()
        if state == HALF_OPEN:
            return 1 if self.circuit.take_probe() else 0
        return want if state != "open" else 0

    # --- claim -------------------------------------------------------------------------

    def claim(self, ids: list[int]) -> Claim:
        """Claim the due, queued rows among `ids` (see the module docstring)."""
        result = Claim([], {}, {})
        if not ids:
            return result
        now = utcnow()
        lease_until = now + timedelta(seconds=self.config.lease)
        rescore: dict[str, float] = {}
        with self.db.session() as s:
            rows = s.execute(
                update(Message)
                .where(Message.id.in_(ids), Message.status == MessageStatus.QUEUED,
                       or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))
                .values(status=MessageStatus.SENDING, next_attempt_at=lease_until)
                .returning(Message.id, Message.recipient, Message.text, Message.kind,
                           Message.attempts, Message.created_at)
                .execution_options(synchronize_session=False)
            ).all()
            opted_out = set(s.scalars(select(OptOut.phone).where(
                OptOut.phone.in_(sorted({row.recipient for row in rows}))))) if rows else set()
            for row in rows:
                reason = self._drop_reason(row, now, opted_out)
                if reason is None:
                    result.sendable.append(Claimed(row.id, row.recipient, row.text, row.kind,
                                                   row.attempts))
                    rescore[str(row.id)] = lease_until.timestamp()
                    continue
                code, text = reason
                s.execute(update(Message).where(Message.id == row.id).values(
                    status=MessageStatus.DROPPED, error=text, failure_reason=code,
                    next_attempt_at=None).execution_options(synchronize_session=False))
                result.dropped[row.id] = code
                log.warning("sms %s to %s dropped: %s", row.id, mask(row.recipient), text)
            unclaimed = set(ids) - {row.id for row in rows}
            found = s.execute(select(Message.id, Message.status, Message.next_attempt_at)
                              .where(Message.id.in_(unclaimed))).all() if unclaimed else []
        for row in found:
            result.skipped[row.id] = str(row.status)
            if row.status == MessageStatus.QUEUED and row.next_attempt_at is not None:
                rescore[str(row.id)] = row.next_attempt_at.timestamp()  # not due yet
            elif row.status == MessageStatus.SENDING:
                # Another worker's: it settles the entry; look again after a while.
                later = max(row.next_attempt_at.timestamp() if row.next_attempt_at else 0,
                            time.time() + STALE_RESCORE)
                rescore[str(row.id)] = later
        for missing in unclaimed - {row.id for row in found}:
            result.skipped[missing] = "missing"
        finished = [str(i) for i in result.dropped] + [
            str(i) for i, status in result.skipped.items()
            if status not in (MessageStatus.QUEUED, MessageStatus.SENDING)]
        pipe = self.connection.pipeline(transaction=False)
        if rescore:
            pipe.zadd(DUE_KEY, rescore)
        if finished:
            pipe.zrem(DUE_KEY, *finished)
        pipe.execute()
        return result

    def _drop_reason(self, row, now: datetime, opted_out: set[str]) -> tuple[str, str] | None:
        age = now - row.created_at
        if age > self.max_age:
            # A receipt that arrives hours late confuses more than it helps.
            return "expired", (f"expired: queued {int(age.total_seconds())} s ago, "
                               f"limit {int(self.max_age.total_seconds())} s")
        if row.recipient in opted_out and row.kind not in OPT_OUT_EXEMPT:
            return "opted_out", "opted_out: the recipient sent STOP"
        return None

    # --- send --------------------------------------------------------------------------

    def send(self, claimed: Claimed) -> SendResult:
        """One provider call (any thread). Never raises."""
        try:
            return self.provider.send(claimed.recipient, claimed.text, self.sender_id)
        except Exception as exc:  # a bug in an adapter must not strand the row
            log.exception("sms %s: provider %s raised", claimed.id, self.provider.name)
            return SendResult.retry("internal_error", f"adapter error: {type(exc).__name__}")

    # --- record ------------------------------------------------------------------------

    def record(self, results: list[tuple[Claimed, SendResult]]) -> dict[int, str]:
        """Write the outcome of finished sends: one transaction, one UPDATE
        (executemany) per kind of outcome, each guarded by status='sending'.
        Returns id -> "sent" | "retry" | "failed" | "held" | "paused" | "unknown"."""
        if not results:
            return {}
        now = utcnow()
        if any(r.outcome == Outcome.HOLD for _, r in results):
            self._start_hold(next(r for _, r in results if r.outcome == Outcome.HOLD))
        failures = sum(1 for _, r in results if outage(r))
        answered = sum(1 for _, r in results if r.outcome in (Outcome.ACCEPTED, Outcome.FAILED,
                                                               Outcome.HOLD))
        paused = self.circuit.record(failures, answered)
        outcomes: dict[int, str] = {}
        due: dict[str, float] = {}
        groups: dict[str, list[dict]] = {}
        accepted: list[str] = []
        for claimed, result in results:
            outcome, row = self._outcome(claimed, result, now, paused)
            outcomes[claimed.id] = outcome
            groups.setdefault(outcome, []).append(row)
            if outcome in ("retry", "held", "paused"):
                due[str(claimed.id)] = row["next_attempt_at"].timestamp() if row["next_attempt_at"] \
                    else time.time()
            if outcome == "sent":
                accepted.append(row["provider_message_id"])
        with self.db.session() as s:
            reports.lock_ids(s, accepted)
            written = 0
            for outcome, rows in groups.items():
                columns = [c for c in rows[0] if c != "b_id"]
                statement = (update(_MESSAGES).where(_MESSAGES.c.id == bindparam("b_id"), _OURS)
                             .values({c: bindparam(c) for c in columns}))
                written += s.execute(statement, rows).rowcount
            if accepted:
                reports.apply_pending_ids(s, accepted)
        if written != len(results):
            log.error("sms: %d of %d finished sends found their row changed meanwhile (not "
                      "'sending' any more); their outcome was not recorded", len(results) - written,
                      len(results))
        pipe = self.connection.pipeline(transaction=False)
        if due:
            pipe.zadd(DUE_KEY, due)
        done = [str(i) for i in outcomes if str(i) not in due]
        if done:
            pipe.zrem(DUE_KEY, *done)
        pipe.execute()
        return outcomes

    def _provider_id(self, claimed: Claimed, result: SendResult) -> str:
        return (result.message_id or f"{self.provider.name}-{claimed.id}")[:64]

    def _outcome(self, claimed: Claimed, result: SendResult, now: datetime,
                 paused: bool = False) -> tuple[str, dict]:
        """The outcome of one send and the columns to write for it (`paused`:
        the circuit is tripped, so an outage failure is not an attempt)."""
        row = {"b_id": claimed.id, "provider": self.provider.name,
               "sender_id": self.sender_id[:16] if self.sender_id else None,
               "segments": smstexts.segments(claimed.text)}
        who = f"sms {claimed.id} to {mask(claimed.recipient)}"
        if result.outcome == Outcome.HOLD:
            # Not an attempt: nothing the message did wrong. It waits for the hold.
            row.update(status=MessageStatus.QUEUED, next_attempt_at=None,
                       error=f"held: {result.detail}", failure_reason=(result.reason or "hold")[:64])
            return "held", row
        attempts = claimed.attempts + 1
        row["attempts"] = attempts
        if result.outcome == Outcome.UNKNOWN and not at_least_once(claimed.kind):
            # It may have gone out: resending could deliver it twice. A
            # delivery report for its number settles it; else an operator does.
            row.update(status=MessageStatus.UNKNOWN, error=f"unknown: {result.detail}",
                       failure_reason=(result.reason or "unknown")[:64],
                       next_attempt_at=now + timedelta(seconds=self.config.unknown_wait))
            log.warning("%s: outcome unknown (%s); not resent (%s is at-most-once)", who,
                        result.detail, claimed.kind)
            return "unknown", row
        if paused and outage(result):
            # The provider is down, not this message: keep its attempts for later.
            row.update(status=MessageStatus.QUEUED, next_attempt_at=None, attempts=claimed.attempts,
                       error=f"paused: {result.detail}", failure_reason=(result.reason or "")[:64] or None)
            return "paused", row
        if result.outcome == Outcome.ACCEPTED:
            row.update(status=MessageStatus.SENT, sent_at=now,
                       provider_message_id=self._provider_id(claimed, result),
                       cost=result.cost[:32] if result.cost else None, error=None,
                       failure_reason=None, next_attempt_at=None)
            log.info("%s sent via %s (%s, %d segment(s), attempt %d)", who, self.provider.name,
                     claimed.kind, row["segments"], attempts)
            return "sent", row
        row.update(error=result.detail, failure_reason=(result.reason or "")[:64] or None)
        if result.outcome == Outcome.UNKNOWN:
            log.warning("%s: outcome unknown (%s); resent, a duplicate is possible (%s is "
                        "at-least-once)", who, result.detail, claimed.kind)
        if result.outcome in (Outcome.RETRY, Outcome.UNKNOWN) and attempts < self.config.max_attempts:
            delay = self.backoff(attempts)
            row.update(status=MessageStatus.QUEUED, next_attempt_at=now + timedelta(seconds=delay))
            log.warning("%s: attempt %d failed (%s); retry in %.1f s", who, attempts, result.detail, delay)
            return "retry", row
        if result.outcome in (Outcome.RETRY, Outcome.UNKNOWN):
            row["error"] = f"gave up after {attempts} attempts: {result.detail}"
        row.update(status=MessageStatus.FAILED, next_attempt_at=None)
        log.warning("%s failed: %s", who, row["error"])
        return "failed", row

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt, after `attempts` attempts."""
        base = min(self.config.retry_cap, self.config.retry_base * 2 ** (attempts - 1))
        jitter = self.config.retry_jitter
        return base * random.uniform(1 - jitter, 1 + jitter) if jitter else base

    def _start_hold(self, result: SendResult) -> None:
        seconds = max(1, int(self.config.hold_seconds))
        if self.connection.set(HOLD_KEY, result.reason or "hold", nx=True, ex=seconds):
            fix = ("Check AT_USERNAME and AT_API_KEY (a rotated key?) and restart the workers"
                   if is_credential_hold(result.reason) else "Top up the provider account")
            log.warning(
                "SMS sending is ON HOLD for %d s: the provider refused a send with %s (%s). "
                "%s; queued SMS wait and go out when the hold ends (or at once after "
                "`gateway sms resume`).", seconds, result.reason, result.detail, fix)


# `sending` is ours. A row the sweeper settled as `unknown` (its lease ran
# out) and no report has settled yet gets the real outcome after all (so
# does one settled as unknown_outcome before the `unknown` status existed).
_MESSAGES = Message.__table__
_OURS = or_(_MESSAGES.c.status == MessageStatus.SENDING,
            and_(_MESSAGES.c.status == MessageStatus.UNKNOWN,
                 _MESSAGES.c.provider_message_id.is_(None)),
            and_(_MESSAGES.c.status == MessageStatus.FAILED,
                 _MESSAGES.c.failure_reason == UNKNOWN_OUTCOME))
