"""The market (`views`: catalogue, producers, listings, orders, messages, CSV
exports), the product pages where editors run the catalogue (`catalogue`,
with its `forms`), the webhook deliveries and their attempts (`webhooks`),
mobile money payments and held transfers (`payments`), and the dashboard (`dashboard`: charts drawn by `charts` from the counts of
`analytics`)."""
from gateway.console.market import catalogue, dashboard, payments, views, webhooks  # noqa: F401  (add their views to the blueprint)
