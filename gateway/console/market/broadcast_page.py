"""/admin/market/broadcasts: operators' messages to a segment of the market.

Viewers read the past broadcasts (recipients, opted-out numbers skipped,
delivery rate from `broadcasts.stats`). An editor composes one: the preview
step counts the segment (opted-out numbers left out), shows the SMS parts
and the linter's problems; the send step checks all of it again, asks for
the recipient count to be confirmed above `CONFIRM_ABOVE` (the count must
be the one just previewed, so a segment that grew since is previewed
again), writes the messages with the same service as `gateway sms
broadcast` and queues them after the commit: they go out through the
normal throttled SMS queue. Each send is audited.
"""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.console.auth import current_operator, requires, services
from gateway.console.blueprint import bp
from gateway.console.common.forms import posted
from gateway.console.market.forms import MAX_BROADCAST, BroadcastForm
from gateway.market import catalogue
from gateway.market.models import District
from gateway.operators import accounts as operators
from gateway.operators.models import Role
from gateway.orders import segments
from gateway.sms import broadcasts
from gateway.sms import queue as sms_queue
from gateway.sms import texts as smstexts

log = logging.getLogger(__name__)
SHOWN = 20  # past broadcasts on the page


def _segment(form: BroadcastForm) -> segments.Segment:
    return segments.Segment(form.role.data or "", form.product.data or None, form.district.data or None)


def _past(s: Session) -> list[dict]:
    """The latest broadcasts with their delivery so far (one aggregate each, at most SHOWN)."""
    items = []
    for b in broadcasts.recent(s, SHOWN):
        st = broadcasts.stats(s, b.id)
        items.append({"id": b.id, "created_at": b.created_at, "by": b.created_by, "segment": b.segment,
                      "text": b.text, "parts": b.segments, "recipients": b.recipients, "skipped": b.skipped,
                      "sent": st.sent, "delivered": st.delivered, "failed": st.failed,
                      "rate": round(100 * st.rate, 1)})
    return items


def _page(form: BroadcastForm, *, preview=None, error: str | None = None, status: int = 200):
    with services().db.session() as s:
        past = _past(s)
        products = [(p.code, p.name_en) for p in catalogue.all_products(s)]
        districts = list(s.scalars(select(District.name).order_by(District.name)))
    problems = [str(p) for p in preview.problems] if preview else []
    blocked = bool(preview and smstexts.errors(list(preview.problems)))
    return render_template("console/market/broadcasts.html", form=form, past=past, preview=preview,
                           problems=problems, blocked=blocked, error=error, roles=segments.ROLES,
                           products=products, districts=districts, confirm_above=broadcasts.CONFIRM_ABOVE,
                           max_chars=MAX_BROADCAST, can_send=current_operator().can(Role.EDITOR)), status


@bp.get("/market/broadcasts")
@requires(Role.VIEWER)
def market_broadcasts():
    return _page(BroadcastForm(formdata=None))


def _previewed(form: BroadcastForm):
    """The segment's preview, or (None, the reason it cannot be previewed)."""
    if not form.text.data:
        return None, "Write the message first."
    try:
        with services().db.session() as s:
            return segments.preview(s, _segment(form), form.text.data), None
    except segments.NotFound as exc:
        return None, exc.message
    except ValueError as exc:
        return None, str(exc)


@bp.post("/market/broadcasts/preview")
@requires(Role.EDITOR)
def market_broadcast_preview():
    form = posted(BroadcastForm)
    preview, error = _previewed(form)
    return _page(form, preview=preview, error=error, status=200 if preview else 400)


@bp.post("/market/broadcasts/send")
@requires(Role.EDITOR)
def market_broadcast_send():
    """Send what was previewed; anything changed since is shown again, not sent."""
    form = posted(BroadcastForm)
    preview, error = _previewed(form)
    if preview is None:
        return _page(form, error=error, status=400)
    if smstexts.errors(list(preview.problems)):
        return _page(form, preview=preview, error="The text has errors: fix them first.", status=400)
    if not preview.recipients:
        return _page(form, preview=preview, error="Nobody in this segment would receive it.", status=400)
    if preview.needs_confirmation and form.confirmed_count() != preview.recipients:
        return _page(form, preview=preview, status=409,
                     error=f"Type the number of recipients ({preview.recipients:,} as digits) to confirm.")
    op = current_operator()
    segment = _segment(form)
    with services().db.session() as s:
        sent, ids = segments.send(s, segment, form.text.data, by=f"op:{op.username}")
        number = sent.id
        operators.audit(s, "broadcast", by=op, target=f"broadcast {number}",
                        detail=f"{segment.label()}: {len(ids)} recipients, {sent.skipped} opted out")
    try:
        sms_queue.enqueue_many(services().redis, ids)
    except Exception:  # the SMS sweep puts queued rows back in the due set within a minute
        log.exception("could not enqueue broadcast %s", number)
    flash(f"Broadcast {number}: {len(ids):,} SMS queued.")
    return redirect(url_for("console.market_broadcasts"))
