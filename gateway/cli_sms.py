"""`gateway sms ...` commands (to be built)."""
import click


def register(main: click.Group) -> None:
    """Add the sms commands to `main`."""
