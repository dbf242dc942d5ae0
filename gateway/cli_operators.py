"""`gateway operators ...` commands (to be built)."""
import click


def register(main: click.Group) -> None:
    """Add the operators commands to `main`."""
