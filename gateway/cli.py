"""The `gateway` command (see interfaces.md), built on Flask's CLI."""
from __future__ import annotations

import sys
import threading

import click
from flask.cli import FlaskGroup

from gateway.settings import Settings, SettingsError


def _settings(mode: str = "serve") -> Settings:
    try:
        return Settings.from_env(mode=mode)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _app():
    from gateway.app import create_app
    return create_app(_settings("serve"))


@click.group(cls=FlaskGroup, create_app=_app, add_default_commands=False, load_dotenv=False)
def main() -> None:
    """Isoko: the USSD and SMS marketplace gateway."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """The whole gateway in one process: web app plus an in-process worker."""
    from werkzeug.serving import make_server

    from gateway.app import bootstrap, build_services, create_app
    from gateway.logs import configure_logging
    from workers import context, runner, sweep

    settings = _settings("serve")
    configure_logging(settings.log_level)
    services = build_services(settings)
    published = bootstrap(services)
    context.configure(settings.database_url, settings=settings)
    stop = threading.Event()
    worker = runner.start_inprocess_worker(services.redis, stop)
    requeued = sweep.requeue_queued_sms(services.db, services.redis)
    server = make_server(host, port, create_app(services=services), threaded=True)
    base = f"http://{host}:{port}"
    click.echo(f"Isoko gateway on {base}")
    click.echo(f"  database: {services.db.dialect}; store: "
               f"{'embedded (in-process)' if settings.embedded_redis else 'Redis'}")
    if published:
        click.echo(f"  published shipped menus: {', '.join(published)}")
    if requeued:
        click.echo(f"  re-queued {requeued} SMS left from an earlier run")
    click.echo(f"  USSD callback: POST {base}/at/ussd")
    click.echo(f"  simulator: {base}/simulator")
    click.echo(f"  try: gateway dial --url {base} --phone +250788000001")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        worker.join(timeout=5)


@main.command()
def worker() -> None:
    """An RQ worker for all of Isoko's queues on REDIS_URL."""
    from gateway.logs import configure_logging

    settings = _settings()
    if settings.redis_url is None:
        raise click.ClickException("REDIS_URL is required for a separate worker "
                                   "(gateway serve runs its own worker in process)")
    configure_logging(settings.log_level)
    from gateway import operators, redis_conn
    from workers import context, runner, sweep
    context.configure(settings.database_url, settings=settings)
    operators.install_sms_source(settings.database_url)  # SMS texts the operators published
    connection = redis_conn.connect(settings.redis_url)
    sweep.requeue_queued_sms(context.database(), connection)
    # Every queue, RQ's scheduler, and the periodic tasks (SMS retries, sweep, order expiry).
    runner.run_worker(connection)


@main.group()
def db() -> None:
    """Database commands."""


def upgrade_or_fail(database) -> None:
    """Migrate, or stop with one clear line when the database is unreachable."""
    from sqlalchemy.exc import OperationalError
    try:
        database.upgrade()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        raise click.ClickException(f"cannot reach the database: {reason}") from None


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from gateway.db import Database
    database = Database(_settings().database_url)
    upgrade_or_fail(database)
    click.echo(f"database at revision {database.current_revision()}")


from gateway import cli_apikeys, cli_dial, cli_menus, cli_operators, cli_sms  # noqa: E402,I001

cli_menus.register(main)
cli_dial.register(main)
cli_sms.register(main)
cli_apikeys.register(main)
cli_operators.register(main)

if __name__ == "__main__":
    sys.exit(main())
