"""Channels: what each provider posts to us, parsed in one place, and the
views that receive it."""
