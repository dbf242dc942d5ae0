"""SMS: message rows, texts (one render, one lint), the one way to enqueue,
the drain that sends through a provider, throttling, sweeping, delivery reports."""
