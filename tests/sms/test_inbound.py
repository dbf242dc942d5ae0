"""gateway.sms.inbound without HTTP: keywords, storing once, opt-outs and the
replies' language, on each SQL backend (the route is
tests/channels/africastalking/test_sms_callbacks.py)."""
from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select

from gateway.sms import inbound
from gateway.sms.inbound import IncomingSms, Received, keyword
from gateway.sms.models import InboundSms, Message, MessageStatus, OptOut
from gateway.sms.queue import DUE_KEY

PHONE = "+250788000001"
DIAL = "*384*7#"


def sms(text: str, provider_id: str = "in-1") -> IncomingSms:
    return IncomingSms(provider_id=provider_id, sender=PHONE, text=text, short_code="21555",
                       network_code="63510", link_id="link-1", sent_at="2026-11-28 08:00:00")


def nobody(s, phone):
    return None


def receive(database, text: str, provider_id: str = "in-1", language_of=nobody) -> Received:
    with database.session() as s:
        return inbound.receive(s, sms(text, provider_id), dial=DIAL, language_of=language_of)


@pytest.mark.parametrize("text, action", [
    ("STOP", "stop"), ("  stop.  ", "stop"), ("Hagarika", "stop"), ("ARRÊT", "stop"), ("arret!", "stop"),
    ("HELP", "help"), ("ubufasha", "help"), ("Aide?", "help"),
    ("START", "start"), ("Tangira", "start"), ("DÉMARRER", "start"), ("demarrer", "start"),
    ("stop sending", None), ("", None), ("STOPP", None), ("hello", None),
])
def test_keywords(text, action):
    assert keyword(text) == action


def test_an_sms_is_stored_once_with_every_field(database):
    assert receive(database, "Hello") == Received(duplicate=False, action=None, replies=())
    assert receive(database, "Hello") == Received(duplicate=True)
    with database.session() as s:
        [row] = s.scalars(select(InboundSms)).all()
        assert (row.provider_id, row.sender, row.text, row.short_code, row.network_code,
                row.link_id, row.sent_at, row.action) == (
            "in-1", PHONE, "Hello", "21555", "63510", "link-1", "2026-11-28 08:00:00", None)
        assert s.scalar(select(func.count()).select_from(Message)) == 0


def test_stop_then_start_write_one_reply_each_and_a_repeat_writes_none(database):
    stop = receive(database, "Stop", "in-1")
    again = receive(database, "STOP", "in-2")
    start = receive(database, "tangira", "in-3")
    assert (stop.action, len(stop.replies)) == ("stop", 1)
    assert (again.action, again.replies) == ("stop", ())
    assert (start.action, len(start.replies)) == ("start", 1)
    with database.session() as s:
        assert s.get(OptOut, PHONE) is None
        kinds = s.scalars(select(Message.kind).order_by(Message.id)).all()
        assert kinds == ["sms_stop", "sms_start"]
        assert s.scalars(select(InboundSms.action).order_by(InboundSms.id)).all() == [
            "stop", "stop", "start"]


def test_the_reply_is_in_the_language_the_caller_knows_else_the_keywords(database):
    asked = []

    def french(s, phone):
        asked.append(phone)
        return "fr"

    [fr] = receive(database, "HELP", "in-1", language_of=french).replies  # a French producer
    [rw] = receive(database, "Ubufasha", "in-2").replies
    [en] = receive(database, "help", "in-3").replies
    [aide] = receive(database, "aide", "in-4").replies
    assert asked == [PHONE]
    with database.session() as s:
        assert s.get(Message, fr).language == "fr" and DIAL in s.get(Message, fr).text
        assert s.get(Message, rw).language == "rw"
        assert s.get(Message, rw).status == MessageStatus.QUEUED
        assert s.get(Message, en).language == "en" and s.get(Message, aide).language == "fr"
        assert "gérer vos offres" in s.get(Message, aide).text


def test_queue_replies_makes_them_due_and_survives_a_dead_redis(database, redis_client, caplog):
    [message_id] = receive(database, "HELP").replies
    inbound.queue_replies(redis_client, [message_id])
    assert redis_client.zscore(DUE_KEY, str(message_id)) is not None
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                           retry=Retry(NoBackoff(), 0))
    inbound.queue_replies(dead, [message_id])  # logged, not raised
    assert "the sweeper will pick it up" in caplog.text
    dead.close()
