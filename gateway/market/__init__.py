"""The market: districts, the product catalogue, producers and listings,
their rules and seed data."""
