"""The shared floor: settings, SQL and Redis connections, phone numbers,
logs, the models' base and what jobs find in their process. Imports nothing
of Isoko above it."""
