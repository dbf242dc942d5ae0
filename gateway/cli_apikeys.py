"""`gateway apikeys ...` commands (to be built)."""
import click


def register(main: click.Group) -> None:
    """Add the apikeys commands to `main`."""
