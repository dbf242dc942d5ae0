"""The app factory's old address, kept for deploys that still run
`gunicorn 'gateway.app:create_app()'`; the Procfile now names `gateway.web`."""
from gateway.web import create_app

__all__ = ["create_app"]
