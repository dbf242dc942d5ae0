"""A hop's time budget: a reply within `USSD_HOP_BUDGET_SECONDS`, whatever
Redis or the database do.

Timeouts bound each blocking call (`gateway.core.bounds`), but a frozen
server (SIGSTOP, a stalled disk, a partition that drops no packet) holds a
PostgreSQL query past any server-side timeout, and libpq has no read
timeout. So `BoundedHops` runs the SQL part of a hop on a pool thread and
waits for it at most the budget; past it, the caller gets `TIMED_OUT` in the
language the hop had found so far.

Most hops need no SQL (a known caller's first hop, navigation), and handing
every hop to another thread cost a fifth of such a hop's CPU under
gunicorn's threads. So a hop starts on the caller's thread, where only
Redis calls block, each bounded by its timeouts and one retry: at worst a
read timeout, a reconnect and a second read timeout (`round_trip_worst`,
3 s with the default 1 s timeouts). A hop starts there only when that fits
the budget, and it leaves for the pool before its second round trip when
what is left of the budget would not cover another (`offload_if_late`). Before anything that may block without such a bound
(opening the hop's SQL session, reading the menu head or a menu from SQL,
waiting for a concurrent duplicate), the hop calls `offload()`: on the
caller's thread that raises `Offload`, and the hop starts again, from just
after its first Redis round trip, on a pool thread, with the same deadline.
Nothing was written before that point (the engine is pure until its
actions touch SQL), so the part run twice was only computed. The hop's thread carries on alone and checks the same
deadline between steps (`check`): past the deadline it commits nothing, so
a caller told "try again" finds nothing half-done. One ambiguity is left and
stated in docs/reliability.md: a COMMIT sent just before the server froze
is applied when it thaws, after the caller got the END.

Hops offloaded while every pool thread is busy wait in the pool's queue; one that
starts past its deadline returns at once, so a long freeze costs threads
(at most `threads`) and never a growing backlog of work.
"""
from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar

log = logging.getLogger(__name__)

# The END past the budget. The rw wording is in GLOSSARY.md's "To review".
TIMED_OUT = {
    "rw": "Mutwihanganire, serivisi iratinda. Mwongere muhamagare mu kanya.",
    "en": "Sorry, this is taking too long. Please dial again in a moment.",
    "fr": "Désolé, le service est lent. Recomposez dans un instant.",
}
# Kept back from the budget for what follows the wait: the view, the WSGI
# server and the network, so the whole answer stays within the budget.
MARGIN_SECONDS = 0.25
DEFAULT_THREADS = 32

_CURRENT: ContextVar["Deadline | None"] = ContextVar("isoko_hop_deadline", default=None)


class BudgetExceeded(Exception):
    """The hop's budget ran out: nothing may be committed any more."""


class Offload(BaseException):
    """The hop, running on the caller's thread, is about to block without a
    bound: `resume` (set by the service) carries it on, on a pool thread.
    A BaseException, so no `except Exception` on the way up takes it for an
    error."""

    resume = None


_INLINE: ContextVar[bool] = ContextVar("isoko_hop_inline", default=False)


def offload() -> None:
    """Call before blocking without a bound: raises `Offload` when the hop
    runs on the caller's thread (see the module's docstring); else nothing."""
    if _INLINE.get():
        raise Offload()


class Deadline:
    """When a hop's budget ends, and the caller's language once known."""

    def __init__(self, seconds: float, clock=time.monotonic, reserve: float = 0.0):
        self.clock = clock
        self.at = clock() + seconds
        self.lang: str | None = None
        # What one Redis round trip may take at worst, for `offload_if_late`.
        self.reserve = reserve

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.at


def offload_if_late() -> None:
    """On the caller's thread, offload when what is left of the budget could
    not cover one more Redis round trip at its worst; else nothing."""
    deadline = _CURRENT.get()
    if _INLINE.get() and deadline is not None and deadline.remaining() - MARGIN_SECONDS < deadline.reserve:
        raise Offload()


def check() -> None:
    """Raise `BudgetExceeded` when the running hop is past its deadline
    (nothing outside a bounded hop: the simulator, tests, the CLI)."""
    deadline = _CURRENT.get()
    if deadline is not None and deadline.expired():
        raise BudgetExceeded("the hop's budget ran out")


def note_language(lang: str | None) -> None:
    """Tell the waiting caller the language to answer a timeout in."""
    deadline = _CURRENT.get()
    if deadline is not None and lang:
        deadline.lang = lang


def timed_out(lang: str | None) -> str:
    """The END past the budget, in `lang` (Kinyarwanda when unknown)."""
    return "END " + TIMED_OUT.get(lang or "rw", TIMED_OUT["rw"])


class BoundedHops:
    """`answer(hop)` like `UssdService.answer`, within `seconds` always.
    Exceptions of the hop reach the caller as they would unbounded."""

    def __init__(self, service, seconds: float, *, threads: int = DEFAULT_THREADS,
                 round_trip_worst: float = 0.0):
        self.service, self.seconds = service, seconds
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="isoko-hop")
        # The longest one Redis round trip can block the caller's thread;
        # past what the budget allows, every hop runs on the pool.
        self.round_trip_worst = round_trip_worst
        self.inline = round_trip_worst <= seconds - MARGIN_SECONDS

    def answer(self, hop) -> str:
        """The hop's reply, or `timed_out` when it is not ready in time."""
        started = time.perf_counter()
        deadline = Deadline(self.seconds, reserve=self.round_trip_worst)
        resume = lambda: self.service.answer(hop)  # noqa: E731
        if self.inline:
            token, inline = _CURRENT.set(deadline), _INLINE.set(True)
            try:
                return self.service.answer(hop)
            except Offload as offloaded:
                resume = offloaded.resume or resume
            finally:
                _INLINE.reset(inline)
                _CURRENT.reset(token)
        # The rest runs in a copy of the caller's context: what the request
        # set (the web framework's request, the simulator's draft flag) is
        # what the hop sees, as if it ran on the caller's own thread.
        context = contextvars.copy_context()
        future = self.pool.submit(context.run, self._run, resume, deadline)
        try:
            return future.result(timeout=max(0.0, deadline.remaining() - MARGIN_SECONDS))
        except FutureTimeout:
            log.warning("ussd hop past its %.1f s budget: answered END (session=%s)",
                        self.seconds, hop.session_id[:40])
            self.service.observe("timeout", started)
            return timed_out(deadline.lang)

    @staticmethod
    def _run(resume, deadline: Deadline) -> str:
        if deadline.expired():  # queued behind stuck hops: its caller has its END already
            return timed_out(deadline.lang)
        token = _CURRENT.set(deadline)
        try:
            return resume()
        finally:
            _CURRENT.reset(token)

    def shutdown(self) -> None:
        """Stop taking hops; threads still stuck finish on their own."""
        self.pool.shutdown(wait=False, cancel_futures=True)
