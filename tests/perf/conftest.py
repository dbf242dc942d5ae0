"""Fixtures for the cost tests: the fault tests' private Redis server, whose
memory counters no other client moves."""
from tests.faults.conftest import private_redis  # noqa: F401  (a fixture)
