"""`gateway sms ...`: lint the SMS texts, list the outbox, end a hold, requeue."""
from __future__ import annotations

import click
import yaml
from sqlalchemy import select

from gateway.cli.common import database as _database
from gateway.cli.common import settings as _settings
from gateway.core import jobs as context
from gateway.core import redis_conn
from gateway.core.models import utcnow
from gateway.core.phones import InvalidPhone, mask, normalize
from gateway.sms import queue as queues
from gateway.sms import texts as smstexts
from gateway.sms.jobs import release_hold
from gateway.sms.models import Message, MessageStatus


def _redis():

    settings = _settings()
    if settings.redis_url is None:
        raise click.ClickException("REDIS_URL is required (the embedded store lives inside "
                                   "`gateway serve` and cannot be reached from here)")
    return redis_conn.connect(settings.redis_url)



@click.group()
def sms() -> None:
    """SMS texts and the outbox."""

@sms.command("lint")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def lint_cmd(file: str | None) -> None:
    """Check SMS texts (default: the shipped gateway/data/sms.yaml): every
    kind in rw/en/fr, GSM-7 only, placeholders, size at the worst case.
    Exits 1 on any error (warnings alone exit 0)."""

    name = file or "gateway/data/sms.yaml (shipped)"
    try:
        if file is None:
            source = smstexts.shipped_source()
        else:
            with open(file, encoding="utf-8") as handle:
                source = handle.read()
        data = yaml.safe_load(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{name}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        click.echo(f"{name}: error: not valid YAML: {exc}")
        raise SystemExit(1) from None
    problems = smstexts.lint(data)
    for problem in problems:
        click.echo(f"{name}: {problem}")
    errors = smstexts.errors(problems)
    kinds = len(data.get("templates") or {}) if isinstance(data, dict) else 0
    click.echo(f"{name}: {kinds} kinds, {len(errors)} error(s), "
               f"{len(problems) - len(errors)} warning(s)")
    if errors:
        raise SystemExit(1)

@sms.command("outbox")
@click.option("--phone", help="only messages to this number")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def outbox_cmd(phone: str | None, limit: int) -> None:
    """The most recent SMS, newest first, numbers masked."""


    query = select(Message).order_by(Message.id.desc()).limit(limit)
    if phone:
        try:
            query = query.where(Message.recipient == normalize(phone))
        except InvalidPhone:
            raise click.ClickException(f"--phone: not a valid number: {phone!r}") from None
    database = _database()
    with database.session() as s:
        rows = s.scalars(query).all()
    if not rows:
        click.echo("no messages")
    for m in rows:
        when = m.created_at.strftime("%Y-%m-%d %H:%M:%S")
        state = m.status.value + (f"/{m.delivery_status}" if m.delivery_status else "")
        text = m.text if len(m.text) <= 60 else m.text[:57] + "..."
        click.echo(f"{m.id:>7} {when} {mask(m.recipient):<14} {state:<18} {m.kind:<20} "
                   f"{m.provider or '-':<14} {text}")
        if m.error:
            click.echo(f"{'':>8}{m.error}")
    database.dispose()

@sms.command("resume")
def resume_cmd() -> None:
    """End an SMS hold now (after topping up the provider account)."""

    held = release_hold(_redis())
    click.echo("hold ended; queued SMS go out now" if held else "no hold was active")

# `unknown` and `review`: the provider may have it; the operator judges that it did not.
REQUEUABLE = (MessageStatus.FAILED, MessageStatus.DROPPED, MessageStatus.UNKNOWN, MessageStatus.REVIEW)


@sms.command("requeue")
@click.argument("message_id", type=int)
def requeue_cmd(message_id: int) -> None:
    """Send a failed, dropped, unknown or review message again."""

    database = _database()
    with database.session() as s:
        message = s.get(Message, message_id)
        if message is None:
            raise click.ClickException(f"no message {message_id}")
        if message.status not in REQUEUABLE:
            raise click.ClickException(f"message {message_id} is {message.status.value}: "
                                       "only failed, dropped, unknown or review messages are requeued")
        age = utcnow() - message.created_at
        if age > context.sms_max_age():
            click.echo(f"warning: message {message_id} was created {int(age.total_seconds())} s "
                       "ago, over the SMS age limit: the worker will drop it", err=True)
        message.status, message.attempts, message.next_attempt_at = MessageStatus.QUEUED, 0, None
        message.error = f"requeued by an operator (was: {message.failure_reason or 'failed'})"
        message.failure_reason = None
    database.dispose()
    queues.enqueue_sms(_redis(), message_id)
    click.echo(f"message {message_id} queued again")
