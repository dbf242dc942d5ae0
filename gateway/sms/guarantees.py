"""Which message kinds may be sent twice, and which may not.

The provider has no idempotency key: after a read timeout (the request went
out, no answer came back) we cannot know whether it sent the message.

- At-least-once (`AT_LEAST_ONCE`): the order alerts. A lost one costs a
  trade: the seller never hears of the order before it expires, the buyer
  never gets the seller's number or the delivery code, a seller delivers a
  cancelled order. A duplicate only repeats the same facts (the same code,
  the same number), so after a read timeout they are sent again, with the
  usual backoff and attempts.
- At-most-once (every other kind): receipts of what the user just did on
  USSD and saw on the screen, end-of-order notices (`order_delivered`,
  `payout_sent`, `order_disputed`), price alerts and broadcasts (a
  duplicate to thousands is the harm), the STOP/START/HELP
  replies (a second STOP confirmation to a number that asked for silence is
  the harm). After a read timeout they stay `unknown` until a delivery
  report settles them, then `review` for an operator.

After a worker died mid-send every kind waits for a delivery report (the
row is `unknown`, then `review`): nothing is resent on a guess.
"""
from __future__ import annotations

AT_LEAST_ONCE: frozenset[str] = frozenset({
    "order_new",  # the seller must answer before ORDER_TTL_MINUTES
    "order_accepted",  # the buyer gets the seller's number
    "order_accepted_seller",  # the seller gets the buyer's number
    "delivery_code",  # the buyer needs it at the handover
    "order_cancelled",  # the seller must not deliver
    "order_rejected",  # the buyer looks elsewhere
    # Mobile money: the same facts for a paid trade.
    "order_accepted_seller_momo",  # the seller gets the buyer's number, and waits for the payment
    "payment_requested",  # the buyer must approve the payment on their phone
    "payment_received_buyer",  # carries the delivery code
    "payment_received_seller",  # the seller may hand over now
    "payment_failed_funds", "payment_failed_rejected", "payment_failed_expired",
    "payment_failed_other",  # the buyer must pay again, or the trade stalls
    "payment_failed_payer",  # carries the delivery code of a trade turned to cash
    "payment_cash_seller",  # the seller must take cash
})


def at_least_once(kind: str) -> bool:
    """True when a message of `kind` is resent after an unknown outcome."""
    return kind in AT_LEAST_ONCE
