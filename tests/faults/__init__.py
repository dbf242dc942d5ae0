"""Fault injection against real processes: private servers of their own, never the shared ones."""
