"""The console's broadcast page (issue 10): an editor previews a message to a
segment (recipients, opted-out numbers left out, SMS parts, lint), confirms
above 1,000 recipients, sends through the normal SMS queue (to the loopback
provider here), audited; viewers read the list and are refused every POST."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from gateway.operators.models import AuditEntry
from gateway.sms.broadcast_models import Broadcast, BroadcastRecipient
from gateway.sms.models import Message, OptOut
from tests.sim.fixtures import restore_signals, sms  # noqa: F401
from tests.sms.test_broadcast import _producers

TEXT = "Isoko: isoko ry'ibishyimbo rifunguye i Huye ku wa gatanu."
SEGMENT = {"role": "producer", "product": "beans", "district": "Huye", "text": TEXT}


def _preview_figures(page: str) -> tuple[int, int, int]:
    found = re.search(r'data-recipients="(\d+)" data-opted-out="(\d+)" data-segments="(\d+)"', page)
    assert found, page
    return tuple(int(x) for x in found.groups())


def test_an_editor_previews_and_sends_and_opted_out_numbers_get_nothing(sms, editor, viewer, gw):
    huye = _producers(gw.db, "Huye", 12, first=88_200_000)
    _producers(gw.db, "Musanze", 5, first=88_300_000)  # another district: outside the segment
    with gw.db.session() as s:
        s.add_all(OptOut(phone=p, keyword="STOP") for p in huye[:3])
    assert editor.get("/admin/market/broadcasts").status_code == 200
    preview = editor.post("/admin/market/broadcasts/preview", SEGMENT)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert _preview_figures(page) == (9, 3, 1)
    assert 'id="broadcast-send"' in page and 'id="broadcast-confirm"' not in page
    with gw.db.session() as s:  # a preview writes nothing
        assert s.scalar(select(func.count()).select_from(Message)) == 0

    sent = editor.post("/admin/market/broadcasts/send", SEGMENT)
    assert sent.status_code == 302
    sms.burst()
    received = sms.sim.received()
    assert {m.to for m in received} == set(huye[3:])  # never an opted-out number, nor Musanze
    with gw.db.session() as s:
        broadcast = s.scalars(select(Broadcast)).one()
        assert (broadcast.recipients, broadcast.skipped, broadcast.created_by) == (9, 3, "op:eddie")
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "broadcast"))
        assert entry.username == "eddie" and entry.target == f"broadcast {broadcast.id}"
        assert "9 recipients" in entry.detail and "+250" not in entry.detail
    listed = viewer.get("/admin/market/broadcasts").get_data(as_text=True)
    assert f'data-id="{broadcast.id}" data-recipients="9"' in listed and TEXT.replace("'", "&#39;") in listed
    assert 'id="broadcast-compose"' not in listed  # viewers read only


def test_the_list_shows_the_delivery_rate_from_the_reports(editor, gw):
    phones = _producers(gw.db, "Huye", 4, first=88_400_000)
    assert editor.post("/admin/market/broadcasts/send", SEGMENT).status_code == 302
    with gw.db.session() as s:
        ids = s.scalars(select(BroadcastRecipient.message_id).order_by(BroadcastRecipient.message_id)).all()
        for message in s.scalars(select(Message).where(Message.id.in_(ids[:3]))):
            message.status, message.delivery_status = "sent", "Success"
        assert {m.recipient for m in s.scalars(select(Message))} == set(phones)
    row = re.search(r'class="broadcast"[^>]*data-delivered="(\d+)" data-rate="([\d.]+)"',
                    editor.get("/admin/market/broadcasts").get_data(as_text=True))
    assert row and row.groups() == ("3", "75.0")


def test_a_viewer_is_refused_every_post(viewer, gw):
    _producers(gw.db, "Huye", 3, first=88_500_000)
    assert viewer.get("/admin/market/broadcasts").status_code == 200
    assert viewer.post("/admin/market/broadcasts/preview", SEGMENT).status_code == 403
    assert viewer.post("/admin/market/broadcasts/send", SEGMENT).status_code == 403
    with gw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_a_post_without_the_csrf_token_is_refused(editor, gw):
    _producers(gw.db, "Huye", 3, first=88_600_000)
    assert editor.post("/admin/market/broadcasts/send", SEGMENT, csrf=False).status_code == 400
    with gw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_above_1000_recipients_the_count_must_be_confirmed(editor, gw):
    _producers(gw.db, "Huye", 1001, first=88_700_000)
    page = editor.post("/admin/market/broadcasts/preview", SEGMENT).get_data(as_text=True)
    assert _preview_figures(page)[0] == 1001 and 'id="broadcast-confirm"' in page
    unconfirmed = editor.post("/admin/market/broadcasts/send", SEGMENT)
    assert unconfirmed.status_code == 409 and 'id="broadcast-confirm"' in unconfirmed.get_data(as_text=True)
    wrong = editor.post("/admin/market/broadcasts/send", {**SEGMENT, "confirmed": "1000"})
    assert wrong.status_code == 409
    with gw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
    done = editor.post("/admin/market/broadcasts/send", {**SEGMENT, "confirmed": "1001"})
    assert done.status_code == 302
    with gw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1001


def test_a_text_with_lint_errors_is_shown_and_never_sent(editor, gw):
    _producers(gw.db, "Huye", 3, first=88_800_000)
    bad = {**SEGMENT, "text": "Prix: 900 RWF {price} — été"}
    preview = editor.post("/admin/market/broadcasts/preview", bad)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="broadcast-problems"' in page and "braces" in page
    assert 'id="broadcast-send"' not in page
    assert editor.post("/admin/market/broadcasts/send", bad).status_code == 400
    unknown = editor.post("/admin/market/broadcasts/preview", {**SEGMENT, "district": "Atlantis"})
    assert unknown.status_code == 400 and "Atlantis" in unknown.get_data(as_text=True)
    with gw.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
