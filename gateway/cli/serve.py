"""`gateway serve` (everything in one process) and `gateway worker` (an RQ
worker for all of Isoko's queues)."""
from __future__ import annotations

import threading

import click
from werkzeug.serving import make_server

from gateway.cli.common import settings as _settings
from gateway.core.logs import configure_logging
from gateway.web.app import create_app
from gateway.web.services import bootstrap, build_services
from gateway.worker import start


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """The whole gateway in one process: web app plus an in-process worker."""
    settings = _settings("serve")
    configure_logging(settings.log_level)
    services = build_services(settings)
    published = bootstrap(services)
    stop = threading.Event()
    worker, requeued = start.inprocess(settings, services.redis, stop)
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


@click.command()
def worker() -> None:
    """An RQ worker for all of Isoko's queues on REDIS_URL."""
    settings = _settings()
    if settings.redis_url is None:
        raise click.ClickException("REDIS_URL is required for a separate worker "
                                   "(gateway serve runs its own worker in process)")
    configure_logging(settings.log_level)
    start.standalone(settings)
