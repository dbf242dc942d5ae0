"""The market, read-only (`views`: catalogue, producers, listings, orders,
messages, CSV exports) and the dashboard (`dashboard`: charts drawn by
`charts` from the counts of `analytics`)."""
from gateway.console.market import dashboard, views  # noqa: F401  (add their views to the blueprint)
