"""SQL for the console dashboard: per-day counts drawn from what the gateway records.

Every query is one GROUP BY over a window of days (UTC), so it stays cheap
with 100,000 orders; days with nothing in them are filled with zeros here,
not in SQL. Works on PostgreSQL and SQLite alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from gateway.sms.models import Message, MessageStatus
from gateway.orders.models import Order, OrderStatus
from gateway.ussd.models import UssdSessionLog

WINDOWS = (14, 30)
DEFAULT_WINDOW = 14

# The provider's end-of-session status -> the outcome the dashboard shows.
OUTCOMES = {"Success": "finished", "Incomplete": "dropped", "Failed": "failed"}
OUTCOME_ORDER = ("finished", "dropped", "failed")

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
    """The last `days` days up to and including `today` (UTC)."""

    days: int
    today: date

    @property
    def first(self) -> date:
        return self.today - timedelta(days=self.days - 1)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=timezone.utc)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.today + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def day_keys(self) -> list[str]:
        return [(self.first + timedelta(days=i)).isoformat() for i in range(self.days)]


def window(days: int | None, today: date | None = None) -> Window:
    """A window of one of the selectable sizes (anything else: the default)."""
    if days not in WINDOWS:
        days = DEFAULT_WINDOW
    return Window(days, today or datetime.now(timezone.utc).date())


def day_of(session: Session, column):
    """SQL for the UTC calendar day of `column`, as 'YYYY-MM-DD' text."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def _grid(win: Window, keys) -> dict[str, dict[str, int]]:
    return {day: {key: 0 for key in keys} for day in win.day_keys()}


def sessions_per_day(session: Session, win: Window) -> dict[str, dict[str, int]]:
    """USSD sessions per day by outcome: {day: {finished, dropped, failed}}."""
    when = func.coalesce(UssdSessionLog.date, UssdSessionLog.received_at)
    day = day_of(session, when)
    rows = session.execute(
        select(day, UssdSessionLog.status, func.count())
        .where(when >= win.since, when < win.until)
        .group_by(day, UssdSessionLog.status)
    ).all()
    out = _grid(win, OUTCOME_ORDER)
    for d, status, n in rows:
        outcome = OUTCOMES.get(status)
        if outcome and d in out:
            out[d][outcome] += n
    return out


def funnels(session: Session, win: Window) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """Per journey, the sessions whose last screen was each of its screens,
    split by outcome: {journey: [(screen, {finished, dropped, failed}), ...]}."""
    screens = [sid for steps in JOURNEYS.values() for sid in steps]
    when = func.coalesce(UssdSessionLog.date, UssdSessionLog.received_at)
    rows = session.execute(
        select(UssdSessionLog.last_screen, UssdSessionLog.status, func.count())
        .where(when >= win.since, when < win.until, UssdSessionLog.last_screen.in_(screens))
        .group_by(UssdSessionLog.last_screen, UssdSessionLog.status)
    ).all()
    counts = {sid: {key: 0 for key in OUTCOME_ORDER} for sid in screens}
    for sid, status, n in rows:
        outcome = OUTCOMES.get(status)
        if outcome:
            counts[sid][outcome] += n
    return {name: [(sid, counts[sid]) for sid in steps] for name, steps in JOURNEYS.items()}


def orders_per_day(session: Session, win: Window) -> dict[str, dict[str, int]]:
    """Orders placed per day, by their state now: {day: {pending, accepted, ...}}."""
    day = day_of(session, Order.created_at)
    rows = session.execute(
        select(day, Order.status, func.count())
        .where(Order.created_at >= win.since, Order.created_at < win.until)
        .group_by(day, Order.status)
    ).all()
    out = _grid(win, [s.value for s in OrderStatus])
    for d, status, n in rows:
        if d in out:
            out[d][OrderStatus(status).value] += n
    return out


def delivery_per_day(session: Session, win: Window) -> dict[str, dict[str, int]]:
    """SMS handed to the provider per day (`sent`) and, of those, the ones a
    delivery report confirmed (`delivered`)."""
    day = day_of(session, Message.created_at)
    delivered = func.sum(case((Message.delivery_status == DELIVERED, 1), else_=0))
    rows = session.execute(
        select(day, func.count(), delivered)
        .where(Message.status == MessageStatus.SENT,
               Message.created_at >= win.since, Message.created_at < win.until)
        .group_by(day)
    ).all()
    out = _grid(win, ("sent", "delivered"))
    for d, sent, ok in rows:
        if d in out:
            out[d] = {"sent": int(sent or 0), "delivered": int(ok or 0)}
    return out


def rate(delivered: int, sent: int) -> float | None:
    """delivered / sent as a percentage, None when nothing was sent."""
    return None if not sent else round(100.0 * delivered / sent, 1)
