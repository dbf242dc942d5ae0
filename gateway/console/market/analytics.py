"""SQL for the console dashboard: per-day counts drawn from what the gateway records.

Days are the console's local days (the `TZ` zone): a window is the local
days up to today, its bounds the UTC instants they begin. Every query is one
GROUP BY over the window, so it stays cheap with 100,000 rows: PostgreSQL
groups by local day itself; SQLite, which has no zone database, groups by
UTC quarter hour (every zone's offset is a whole number of quarter hours)
and each slot is placed in its local day here. Days with nothing in them
are filled with zeros here, not in SQL.

USSD sessions are the `ussd_sessions` rows: the gateway's own account of
every session it answered (`gateway.ussd.sessionlog`), with the provider's
status where its notification arrived (`outcome`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from gateway.sms.models import Message, MessageStatus
from gateway.orders.models import Order, OrderStatus
from gateway.ussd.models import UssdSessionLog

WINDOWS = (14, 30)
DEFAULT_WINDOW = 14
UTC = timezone.utc

# How a session ended, as the dashboard shows it; "active" is a session
# still within its TTL after a CON (it may yet go on).
OUTCOME_ORDER = ("finished", "dropped", "failed", "active")
ENDED = OUTCOME_ORDER[:3]

# The screens of each journey, in the order a user meets them
# (menus/definitions/marketplace.yaml).
JOURNEYS = {
    "registration": ("language", "ask_name", "ask_district", "consent"),
    "listing": ("sell_product", "sell_grade", "sell_quantity", "sell_price", "sell_confirm"),
    "buying": ("buy_product", "buy_offers", "buy_quantity", "buy_confirm"),
}

# A delivery report status meaning the phone got the SMS.
DELIVERED = "Success"


@dataclass(frozen=True)
class Window:
    """The last `days` local days of `tz` up to and including `today`."""

    days: int
    today: date
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def first(self) -> date:
        return self.today - timedelta(days=self.days - 1)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.tz).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.today + timedelta(days=1), time.min, tzinfo=self.tz).astimezone(UTC)

    def day_keys(self) -> list[str]:
        return [(self.first + timedelta(days=i)).isoformat() for i in range(self.days)]


def window(days: int | None, tz: ZoneInfo, today: date | None = None) -> Window:
    """A window of one of the selectable sizes (anything else: the default),
    ending today in `tz`."""
    if days not in WINDOWS:
        days = DEFAULT_WINDOW
    return Window(days, today or datetime.now(UTC).astimezone(tz).date(), tz)


def day_of(session: Session, column, tz: ZoneInfo) -> tuple[object, Callable[[str], str]]:
    """SQL to group `column` by, and the function turning a group's key into
    its local day ('YYYY-MM-DD') in `tz`."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(tz.key, column), "YYYY-MM-DD"), lambda key: key
    quarter = cast(func.strftime("%M", column), Integer) / 15 * 15
    slot = func.strftime("%Y-%m-%d %H:", column).op("||")(func.printf("%02d", quarter))

    def local_day(key: str) -> str:
        return datetime.strptime(key, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).astimezone(tz).date().isoformat()

    return slot, local_day


def _grid(win: Window, keys) -> dict[str, dict[str, int]]:
    return {day: {key: 0 for key in keys} for day in win.day_keys()}


def outcome(now: datetime, session_ttl: int):
    """SQL for a session row's outcome (one of OUTCOME_ORDER, or NULL for a
    provider status the dashboard does not know).

    Failed: the gateway answered with its polite error END, or the provider
    says the session failed. Finished: the last reply was an END (or the
    provider says Success). Dropped: the provider says Incomplete, or the
    last reply was a CON and nothing came for longer than the session TTL:
    the user left at that screen. Active: a CON within the TTL.
    """
    row = UssdSessionLog
    idle_since = now - timedelta(seconds=session_ttl)
    return case(
        (or_(row.last_hop == "error", row.status == "Failed"), "failed"),
        (row.last_hop == "end", "finished"),
        (row.status == "Success", "finished"),
        (row.status == "Incomplete", "dropped"),
        (and_(row.last_hop == "continue", row.last_hop_at < idle_since), "dropped"),
        (row.last_hop == "continue", "active"),
        else_=None)


def _session_time():
    return func.coalesce(UssdSessionLog.started_at, UssdSessionLog.date, UssdSessionLog.received_at)


def sessions_per_day(session: Session, win: Window, *, now: datetime,
                     session_ttl: int) -> dict[str, dict[str, int]]:
    """USSD sessions per local day they began, by outcome:
    {day: {finished, dropped, failed, active}}."""
    when = _session_time()
    day, local_day = day_of(session, when, win.tz)
    result = outcome(now, session_ttl)
    rows = session.execute(
        select(day, result, func.count())
        .where(when >= win.since, when < win.until)
        .group_by(day, result)
    ).all()
    out = _grid(win, OUTCOME_ORDER)
    for key, ended, n in rows:
        d = local_day(key)
        if ended in OUTCOME_ORDER and d in out:
            out[d][ended] += n
    return out


def funnels(session: Session, win: Window, *, now: datetime,
            session_ttl: int) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """Per journey, the ended sessions whose last screen was each of its
    screens, by outcome: {journey: [(screen, {finished, dropped, failed}), ...]}."""
    screens = [sid for steps in JOURNEYS.values() for sid in steps]
    when = _session_time()
    result = outcome(now, session_ttl)
    rows = session.execute(
        select(UssdSessionLog.last_screen, result, func.count())
        .where(when >= win.since, when < win.until, UssdSessionLog.last_screen.in_(screens))
        .group_by(UssdSessionLog.last_screen, result)
    ).all()
    counts = {sid: {key: 0 for key in ENDED} for sid in screens}
    for sid, ended, n in rows:
        if ended in ENDED:
            counts[sid][ended] += n
    return {name: [(sid, counts[sid]) for sid in steps] for name, steps in JOURNEYS.items()}


def orders_per_day(session: Session, win: Window) -> dict[str, dict[str, int]]:
    """Orders placed per day, by their state now: {day: {pending, accepted, ...}}."""
    day, local_day = day_of(session, Order.created_at, win.tz)
    rows = session.execute(
        select(day, Order.status, func.count())
        .where(Order.created_at >= win.since, Order.created_at < win.until)
        .group_by(day, Order.status)
    ).all()
    out = _grid(win, [s.value for s in OrderStatus])
    for key, status, n in rows:
        d = local_day(key)
        if d in out:
            out[d][OrderStatus(status).value] += n
    return out


def delivery_per_day(session: Session, win: Window) -> dict[str, dict[str, int]]:
    """SMS handed to the provider per day (`sent`) and, of those, the ones a
    delivery report confirmed (`delivered`)."""
    day, local_day = day_of(session, Message.created_at, win.tz)
    delivered = func.sum(case((Message.delivery_status == DELIVERED, 1), else_=0))
    rows = session.execute(
        select(day, func.count(), delivered)
        .where(Message.status == MessageStatus.SENT,
               Message.created_at >= win.since, Message.created_at < win.until)
        .group_by(day)
    ).all()
    out = _grid(win, ("sent", "delivered"))
    for key, sent, ok in rows:
        d = local_day(key)
        if d in out:
            out[d]["sent"] += int(sent or 0)
            out[d]["delivered"] += int(ok or 0)
    return out


def rate(delivered: int, sent: int) -> float | None:
    """delivered / sent as a percentage, None when nothing was sent."""
    return None if not sent else round(100.0 * delivered / sent, 1)
