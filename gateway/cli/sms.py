"""`gateway sms ...`: lint the SMS texts, list the outbox, end a hold, requeue,
broadcast to a segment."""
from __future__ import annotations

import getpass

import click
import yaml
from sqlalchemy import select

from gateway.cli.common import database as _database
from gateway.cli.common import settings as _settings
from gateway.core import jobs as context
from gateway.core import redis_conn
from gateway.core.models import utcnow
from gateway.core.phones import InvalidPhone, mask, normalize
from gateway.orders import segments
from gateway.sms import broadcasts
from gateway.sms import queue as queues
from gateway.sms import texts as smstexts
from gateway.sms.jobs import release_hold
from gateway.sms.models import Message, MessageStatus


def _redis():

    settings = _settings()
    if settings.embedded_redis:
        raise click.ClickException("REDIS_URL is required (the embedded store lives inside "
                                   "`gateway serve` and cannot be reached from here)")
    return redis_conn.client_for(settings)



def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (a bare container)
        return "unknown"


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

@sms.command("broadcast")
@click.option("--role", type=click.Choice(segments.ROLES), required=True,
              help="producers (with a listing) or buyers (who ordered by USSD)")
@click.option("--product", default=None, help="only those of this product code")
@click.option("--district", default=None, help="only those registered in this district")
@click.option("--text-file", "text_file", type=click.Path(dir_okay=False), required=True,
              help="the message (UTF-8; linted like every SMS text)")
@click.option("--yes", is_flag=True, help=f"send without asking, also above {broadcasts.CONFIRM_ABOVE:,} recipients")
@click.option("--dry-run", is_flag=True, help="preview only")
def broadcast_cmd(role: str, product: str | None, district: str | None, text_file: str, yes: bool,
                  dry_run: bool) -> None:
    """Send a message to a segment: previewed first (recipients, opted-out
    numbers left out, SMS parts), linted, confirmed above 1,000 recipients,
    then queued like every SMS (throttled at SMS_RATE_PER_SECOND)."""
    try:
        with open(text_file, encoding="utf-8") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{text_file}: cannot read: {exc}") from None
    segment = segments.Segment(role, product, district)
    database = _database()
    try:
        with database.session() as s:
            seen = segments.preview(s, segment, text)
        for problem in seen.problems:
            click.echo(f"{text_file}: {problem}", err=True)
        click.echo(f"{segment.label()}: {seen.recipients:,} recipient(s), {seen.opted_out:,} opted out "
                   f"(left out), {seen.segments} SMS part(s) each")
        if smstexts.errors(list(seen.problems)):
            raise SystemExit(1)
        if dry_run or not seen.recipients:
            return
        if seen.needs_confirmation and not yes:
            click.confirm(f"Send to {seen.recipients:,} recipients?", abort=True)
        with database.session() as s:
            sent, ids = segments.send(s, segment, text, by=f"cli:{_login()}")
            number = sent.id
    except segments.NotFound as exc:
        raise click.ClickException(exc.message) from None
    finally:
        database.dispose()
    queues.enqueue_many(_redis(), ids)
    click.echo(f"broadcast {number}: {len(ids):,} SMS queued")
