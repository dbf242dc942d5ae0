"""Operators' broadcasts (issue 10): a segment of 5,000 producers, previewed,
linted, confirmed, sent through the normal SMS queue at the configured rate
to the loopback provider, opted-out numbers left out, and the delivery rate
read from the reports as they arrive."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine

from gateway.cli import main
from gateway.core.models import utcnow
from gateway.market.models import District, Listing, Producer, Product
from gateway.orders import segments
from gateway.sms import broadcasts
from gateway.sms.broadcast_models import Broadcast
from gateway.sms.models import Message, OptOut
from tests.conftest import TEST_REDIS_URL
from tests.sim.fixtures import restore_signals, sms  # noqa: F401
from tests.sms.test_throttle import most_in_any_window

SEGMENT = 5000
OPTED_OUT = 40
RATE = 1000


def _producers(db, district: str, count: int, first: int, product_code: str = "beans") -> list[str]:
    """`count` registered producers in `district`, each with a listing, in bulk."""
    with db.session() as s:
        district_id = s.scalar(select(District.id).where(District.name == district))
        product_id = s.scalar(select(Product.id).where(Product.code == product_code))
        phones = [f"+2507{first + i:08d}" for i in range(count)]
        now = utcnow()
        ids = list(s.scalars(insert(Producer).returning(Producer.id), [
            {"phone": p, "name": "Producer", "district_id": district_id, "language": "rw",
             "consented_at": now, "created_at": now} for p in phones]))
        s.execute(insert(Listing), [
            {"code": str(100000 + first % 800000 + i), "producer_id": pid, "product_id": product_id,
             "quantity": 10, "unit_price": 900, "status": "active", "created_at": now, "updated_at": now}
            for i, pid in enumerate(ids)])
    return phones


def _cli(database, tmp_path, *args, text="Isoko: isoko ry'ibishyimbo rifunguye i Huye ku wa gatanu.",
         input=None):
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    env = {"DATABASE_URL": database.url.render_as_string(hide_password=False), "REDIS_URL": TEST_REDIS_URL}
    return CliRunner().invoke(main, ["sms", "broadcast", "--text-file", str(path), *args], env=env, input=input)


def test_a_broadcast_to_5000_producers(sms, gateway, tmp_path):
    huye = _producers(sms.db, "Huye", SEGMENT, first=88_000_000)
    _producers(sms.db, "Musanze", 30, first=88_100_000)  # another district: not in the segment
    with sms.db.session() as s:
        s.add_all(OptOut(phone=p, keyword="STOP") for p in huye[:OPTED_OUT])
    args = ("--role", "producer", "--product", "beans", "--district", "Huye")

    dry = _cli(sms.db, tmp_path, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{SEGMENT - OPTED_OUT:,} recipient(s), {OPTED_OUT} opted out (left out), 1 SMS part(s)" in dry.output
    refused = _cli(sms.db, tmp_path, *args, input="n\n")  # above 1,000: asked, and "no" sends nothing
    assert refused.exit_code == 1 and "Send to 4,960 recipients?" in refused.output
    with sms.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0

    statements = []  # every engine's, the CLI's own included: counted, not timed (a loaded CI box is slow)
    count = lambda *_args, **_kw: statements.append(1)  # noqa: E731
    event.listen(Engine, "before_cursor_execute", count)
    try:
        done = _cli(sms.db, tmp_path, *args, "--yes")
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert done.exit_code == 0, done.output
    assert 0 < len(statements) < 200, "bulk inserts, not one round trip per recipient"
    sms.configure(rate_per_second=RATE, concurrency=16)
    sms.burst()
    received = sms.sim.received()
    assert len(received) == SEGMENT - OPTED_OUT
    assert {m.to for m in received} == set(huye[OPTED_OUT:])  # never an opted-out number, nor Musanze
    assert most_in_any_window(sorted(m.at for m in received), 1.0) <= RATE

    with sms.db.session() as s:
        broadcast = s.scalars(select(Broadcast)).one()
        assert (broadcast.recipients, broadcast.skipped, broadcast.segment) == \
            (SEGMENT - OPTED_OUT, OPTED_OUT, "role=producer product=beans district=Huye")
        assert broadcasts.stats(s, broadcast.id).rate == 0.0  # no report yet
    for m in received[:300]:
        assert gateway.http.post("/at/sms/delivery", data=sms.sim.report_form(m.message_id, phone=m.to)).status_code == 200
    for m in received[300:320]:
        form = sms.sim.report_form(m.message_id, "Failed", phone=m.to, failure_reason="UserInBlacklist")
        assert gateway.http.post("/at/sms/delivery", data=form).status_code == 200
    with sms.db.session() as s:
        seen = broadcasts.stats(s, broadcast.id)
    assert (seen.recipients, seen.sent, seen.delivered, seen.failed) == (4960, 4960, 300, 20)
    assert abs(seen.rate - 300 / 4960) < 1e-9


def test_a_text_outside_gsm7_is_refused_before_anything_is_written(sms, tmp_path):
    _producers(sms.db, "Huye", 3, first=88_200_000)
    result = _cli(sms.db, tmp_path, "--role", "producer", "--yes", text="Isoko: prix du maïs ✓")
    assert result.exit_code == 1 and "outside GSM-7" in result.output
    with sms.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0


def test_buyers_are_those_who_ordered_by_ussd(database):
    with database.session() as s:
        preview = segments.preview(s, segments.Segment("buyer", "beans"), "Isoko: hello")
    assert (preview.recipients, preview.opted_out, preview.segments) == (0, 0, 1)
