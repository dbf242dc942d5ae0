"""The session's two round trips are Lua scripts (`gateway.core.redis_scripts`):
a server that does not hold them (restarted, flushed, a replica just
promoted) gets them again without the hop noticing, and work a hop queues
on the second round trip is sent once, even when the script had to be
loaded again."""
from __future__ import annotations

import fakeredis
import pytest

from gateway.core.redis_scripts import Script
from gateway.ussd.sessions import HOPS_STREAM, Record, SessionStore
from tests.ussd.helpers import Phone, option, register

PHONE = "+250788123456"


def test_hops_carry_on_after_the_server_forgets_the_scripts(gateway):
    phone = Phone(gateway.http)
    body = phone.dial()
    gateway.redis.script_flush()  # as after a restart or a failover to a replica
    body = phone.hop(option(body, "English"))
    assert body.startswith("CON Welcome to Isoko")
    gateway.redis.script_flush()
    assert phone.hop("Jean Bosco").startswith("CON Choose your district")
    assert gateway.redis.xlen(HOPS_STREAM) == 3


def _record(reply: str) -> Record:
    record = Record(state={"scr": "main", "vals": {"lang": "en"}})
    record.remember("", reply)
    record.hops = 1
    return record


@pytest.mark.parametrize("flushed", [False, True])
def test_queued_work_rides_once_with_the_save_even_when_the_script_is_reloaded(redis_client, flushed):
    store = SessionStore(redis_client)
    begin = store.begin("s-1", PHONE, "marketplace")
    assert begin.token and begin.record is None and begin.hops_this_minute == 1
    if flushed:
        redis_client.script_flush()
    queued = [lambda pipe: pipe.rpush("queued-work", "sms-1")]
    store.finish("s-1", PHONE, _record("CON Hello"), snapshot={"state": {"scr": "sell_price"}},
                 keep_snapshot=False, extra=queued)
    assert redis_client.lrange("queued-work", 0, -1) == [b"sms-1"]  # never twice
    again = store.begin("s-1", PHONE, "marketplace")
    assert again.record.replies == {"": "CON Hello"}
    assert again.resume == {"state": {"scr": "sell_price"}}
    assert again.hops_this_minute == 2
    assert redis_client.xlen(HOPS_STREAM) == 1
    assert redis_client.pttl(f"isoko:ussd:l:s-1") > 0  # the second begin took the lock again


def test_a_failing_queued_command_is_raised_after_the_session_is_saved(redis_client):
    store = SessionStore(redis_client)
    store.begin("s-2", PHONE, "marketplace")
    redis_client.set("not-a-list", "x")
    with pytest.raises(Exception, match="WRONGTYPE"):
        store.finish("s-2", PHONE, _record("END Bye"), snapshot=None, keep_snapshot=False,
                     extra=[lambda pipe: pipe.rpush("not-a-list", "sms")])
    assert store.begin("s-2", PHONE, "marketplace").record.reply == "END Bye"


def test_a_script_is_loaded_on_first_use_and_run_by_its_sha():
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())  # the embedded store runs Lua too
    script = Script("return {KEYS[1], ARGV[1]}")
    assert client.script_exists(script.sha) == [False]
    assert script.run(client, ["k"], ["v"]) == [b"k", b"v"]
    assert client.script_exists(script.sha) == [True]


def test_the_embedded_store_answers_a_whole_registration(gateway_factory):
    gw = gateway_factory(redis_client=fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    assert register(Phone(gw.http)).startswith("CON Isoko: Hello")


def test_a_script_reaches_a_stand_in_client_through_its_execute_command():
    """What is not a redis-py client but takes its commands (the bench's
    session filler records them to replay in bulk) gets the same EVALSHA."""
    class Recorder:
        def __init__(self):
            self.commands = []

        def execute_command(self, *args):
            self.commands.append(args)

    recorder, script = Recorder(), Script("return ARGV[1]")
    script.run(recorder, ["k"], ["v"])
    assert recorder.commands == [("EVALSHA", script.sha, 1, "k", "v")]

