"""The web process's composition root: `create_app` builds every service from
one `Settings` and wires the blueprints, metrics, simulator and console."""
from gateway.web.app import create_app

__all__ = ["create_app"]
