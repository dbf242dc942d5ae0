"""The stored form of session records and snapshots (`sessions.pack`): long
JSON is written as a zstd frame primed with the format's dictionary, and
every form written before (plain JSON, 0.5.3's primed raw deflate) is still
read, so a deploy does not end the sessions that are live across it. The
dictionaries are part of the format: records written with one are read
with the very same bytes, so they never change."""
from __future__ import annotations

import hashlib
import threading
import zlib

import orjson

from gateway.ussd import sessions
from gateway.ussd.sessions import PACK_DICT, PACK_DICT_V2, PACK_OVER, PACK_V1, PACK_V2, Record

REPLY = "CON Isoko: Hitamo igicuruzwa\n1. Ikawa\n2. Icyayi\n3. Ibishyimbo\n0. Gusubira inyuma"


def _record(n: int = 3) -> Record:
    record = Record(state={"menu": "marketplace", "ver": 4, "hist": ["main", "sell_product"],
                           "vals": {"lang": "rw", "name": f"Seller {n}", "district": "Huye"}},
                    hops=n)
    for i in range(n):
        record.remember("1*" * i + "2", f"{REPLY} {i}")
    return record


def test_a_long_record_is_written_as_zstd_and_read_back_whole():
    record = _record()
    raw = record.dumps()
    assert raw[:1] == PACK_V2
    assert len(raw) < len(sessions.to_json({"st": record.state, "rep": record.replies})) / 2
    back = Record.loads(raw)
    assert (back.state, back.text, back.reply, back.replies, back.hops) == (
        record.state, record.text, record.reply, record.replies, record.hops)


def test_a_short_one_is_kept_as_plain_json():
    data = sessions.to_json({"st": None, "n": 1})
    assert len(data) <= PACK_OVER
    assert sessions.pack(data) == data
    assert sessions.from_json(sessions.pack(data)) == {"st": None, "n": 1}


def test_records_written_by_0_5_3_are_still_read():
    # 0.5.3 wrote PACK_V1: raw deflate primed with the same dictionary.
    record = _record()
    data = sessions.to_json({"st": record.state, "t": "2", "rep": record.replies, "n": 3})
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=PACK_DICT)
    old = PACK_V1 + deflate.compress(data) + deflate.flush()
    assert sessions.unpack_bytes(old) == data
    assert Record.loads(old).replies == record.replies
    assert sessions.unpack(old) == data.decode()


def test_threads_packing_at_once_each_get_their_own_bytes_back():
    # A web worker answers hops on several threads; a zstd context serves
    # one call at a time, so each thread must have its own.
    failures, start = [], threading.Barrier(6)

    def work(n: int) -> None:
        start.wait()
        for i in range(300):
            data = orjson.dumps({"who": n, "i": i, "rep": {"1": REPLY * (1 + n % 3)}})
            if sessions.unpack_bytes(sessions.pack(data)) != data:
                failures.append((n, i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def test_the_dictionaries_are_the_ones_stored_records_were_written_with():
    # A changed dictionary would turn every live session's record into
    # garbage: a new one goes under a new first byte instead.
    assert hashlib.sha256(PACK_DICT).hexdigest() == (
        "47160389da8a13dd6e87a9d245f2606e0ae8fe064bc2fb001bdfeeedec890b52")
    assert hashlib.sha256(PACK_DICT_V2).hexdigest() == (
        "1325ab33ca28291c4cdfec4242b6678cf87635c554c1b30ca0e36b2fb7509416")
