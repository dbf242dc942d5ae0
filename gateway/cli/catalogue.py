"""`gateway catalogue ...`: list, set-price, import, export.

Every change is one transaction on the database: it records the price
history and the audit entry as "cli:<login>", and moves the catalogue's
version on, so every running gateway shows the new catalogue on its next
hop that lists products. A reference price that changed queues its price
alerts after the commit when REDIS_URL is set; without it (or with Redis
down) the workers' periodic run sends them within minutes.
"""
from __future__ import annotations

import getpass
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.cli.common import database_unmigrated, settings, upgrade_or_fail
from gateway.core import redis_conn
from gateway.market import alert_jobs, catalogue, catalogue_files
from gateway.market.rules import MarketError
from gateway.operators import accounts as operators
from gateway.web.services import prepare_database

FORMATS = click.Choice(catalogue_files.FORMATS)


def _actor() -> str:
    """Who the price history and the audit log name for this command."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        login = "unknown"
    return f"cli:{login}"


@contextmanager
def _session():
    """One transaction on a database ready to serve (a new one gets the
    demo catalogue first); the engine is closed afterwards."""
    db = database_unmigrated()
    upgrade_or_fail(db, prepare=prepare_database)
    try:
        with db.session() as s:
            yield s
    finally:
        db.dispose()


def _queue_alerts(product_ids) -> None:
    """Queue the price alerts of repriced products, after their commit."""
    url = settings().redis_url
    if not product_ids or url is None:
        return
    connection = redis_conn.connect(url)
    try:
        alert_jobs.enqueue(connection, product_ids)
    finally:
        connection.close()


def _fail(problems, prefix: str = "") -> None:
    for problem in problems:
        click.echo(f"{prefix}{problem}", err=True)
    raise SystemExit(1)


@click.group("catalogue")
def group() -> None:
    """The product catalogue and its reference prices."""

@group.command("list")
def list_cmd() -> None:
    """Every product in display order: code, on sale or not, reference price, names."""
    with _session() as s:
        for p in catalogue.all_products(s):
            grades = ",".join(p.grade_codes()) or "-"
            click.echo(f"{p.code:<20} {'active' if p.active else 'inactive':<8} "
                       f"{p.reference_price:>10,} RWF/{p.unit.value:<5} {grades:<8} "
                       f"{p.name_en} | {p.name_rw} | {p.name_fr}")

@group.command("set-price")
@click.argument("product")
@click.argument("price")
def set_price_cmd(product: str, price: str) -> None:
    """Set PRODUCT's reference price to PRICE (whole RWF per unit)."""
    by = _actor()
    try:
        with _session() as s:
            old = catalogue.by_code(s, product).reference_price
            outcome = catalogue.set_price(s, product, price, by=by)
            for change in outcome.changes:
                operators.audit(s, "catalogue_price", username=by, target=product, detail=change)
    except catalogue.CatalogueInvalid as exc:
        _fail(exc.problems, f"{product}: ")
    except MarketError as exc:
        raise click.ClickException(exc.message) from None
    _queue_alerts(outcome.repriced)
    if outcome.changes:
        click.echo(f"{product}: reference price {old:,} -> {int(price):,} RWF")
    else:
        click.echo(f"{product}: reference price already {old:,} RWF")

@group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=FORMATS, default=None,
              help="the file's format (default: csv for a .csv file, else yaml)")
def import_cmd(file: str, fmt: str | None) -> None:
    """Create or update the products of FILE (matched by code), all or nothing:
    every problem is listed with its row and field, and then nothing changes.
    Products FILE omits stay as they are; take one off sale with active: no."""
    fmt = fmt or catalogue_files.format_of(file)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: cannot read: {exc}") from None
    by = _actor()
    try:
        rows, first = catalogue_files.parse(text, fmt)
        with _session() as s:
            outcome = catalogue.import_products(s, rows, by=by, first_row=first)
            if outcome.changes or outcome.created:
                operators.audit(s, "catalogue_import", username=by, target=Path(file).name[:128],
                                detail="\n".join([f"created {c}" for c in outcome.created] + list(outcome.changes)))
    except catalogue.CatalogueInvalid as exc:
        _fail(exc.problems, f"{file}: ")
    _queue_alerts(outcome.repriced)
    for code in outcome.created:
        click.echo(f"created {code}")
    for change in outcome.changes:
        click.echo(f"changed {change}")
    click.echo(f"{file}: {len(outcome.created)} created, {len(outcome.changes)} change(s)")

@group.command("export")
@click.option("--format", "fmt", type=FORMATS, default="yaml", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="write to this file instead of standard output")
def export_cmd(fmt: str, output: str | None) -> None:
    """Every product, in the format `import` reads."""
    with _session() as s:
        text = catalogue_files.export(catalogue.all_products(s), fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write: {exc}") from None
    click.echo(f"wrote {output}", err=True)
