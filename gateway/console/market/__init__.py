"""The market, read-only (`views`: catalogue, producers, listings, orders,
messages, CSV exports; `webhooks`: the webhook deliveries and their attempts) and the dashboard (`dashboard`: charts drawn by
`charts` from the counts of `analytics`)."""
from gateway.console.market import dashboard, views, webhooks  # noqa: F401  (add their views to the blueprint)
