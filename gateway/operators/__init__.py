"""Operators of the console: accounts, roles, log-in with lock-out, the
audit log, drafts."""
