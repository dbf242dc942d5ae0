"""The market (`views`: catalogue, producers, listings, orders, messages, CSV
exports), the product pages where editors run the catalogue (`catalogue`,
with its `forms`), the webhook deliveries and their attempts (`webhooks`),
mobile money payments and held transfers (`payments`), broadcasts to a
segment (`broadcast_page`), prices over time with wants and alerts
(`market_page`, from `market_figures`), and the dashboard (`dashboard`: charts drawn by `charts` from the counts of
`analytics`)."""
# Imported to add their views to the blueprint.
from gateway.console.market import (broadcast_page, catalogue, dashboard, market_page, payments,  # noqa: F401
                                    views, webhooks)
