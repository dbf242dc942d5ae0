"""The order's states and the one table of moves between them.

`pending → accepted → (paid →) delivered (→ settled)`, plus the ends
`rejected`, `expired`, `cancelled`, and the states an operator looks at:
`overdue` (accepted, not delivered in time) and `disputed` (either side
raised one; an operator resolves it). Every change of state goes through
`check_move`, so no code path can invent a move the table does not list.
`paid` and `settled` belong to mobile money: without it an order is cash on
delivery and goes from `accepted` straight to `delivered`.
"""
from __future__ import annotations

from gateway.market.rules import MarketError
from gateway.orders.models import OrderStatus as S

MOVES: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.ACCEPTED, S.REJECTED, S.EXPIRED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.PAID, S.DELIVERED, S.OVERDUE, S.DISPUTED}),
    S.PAID: frozenset({S.DELIVERED, S.OVERDUE, S.DISPUTED}),
    S.OVERDUE: frozenset({S.DELIVERED, S.DISPUTED}),
    S.DELIVERED: frozenset({S.SETTLED, S.DISPUTED}),
    # An operator resolves a dispute by moving the order on to what happened.
    S.DISPUTED: frozenset({S.DELIVERED, S.CANCELLED, S.SETTLED}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
    S.SETTLED: frozenset(),
}

# Where the goods still have to change hands (a delivery code may be entered).
AWAITING_HANDOVER = frozenset({S.ACCEPTED, S.PAID, S.OVERDUE})
# Where either side may raise a dispute.
DISPUTABLE = frozenset(state for state, nexts in MOVES.items() if S.DISPUTED in nexts)


class BadMove(MarketError):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__("order_closed", f"an order that is {current} cannot become {wanted}")
        self.status = current
        self.wanted = wanted


def allowed(current: S | str, wanted: S | str) -> bool:
    return S(wanted) in MOVES[S(current)]


def check_move(current: S | str, wanted: S | str) -> None:
    """Raise BadMove unless the table allows `current → wanted`."""
    if not allowed(current, wanted):
        raise BadMove(str(current), str(wanted))
