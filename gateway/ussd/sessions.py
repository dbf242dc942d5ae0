"""USSD session records in Redis: two round trips per hop, one command each.

One record per provider `sessionId` holds the engine state, the last text and
reply (to answer a retransmission identically) and a few earlier replies.
A short lock per session serialises concurrent identical POSTs: the loser
waits for the winner's reply instead of applying the hop a second time.

Round trip 1 (`begin`): take the lock, read the record, the phone's resume
snapshot, the published menu version and the caller's producer profile
(on a first hop without one, whether the phone is registered at all),
and count the phone's hop in this clock minute (the per-phone rate limit
costs no round trip of its own). Round trip 2 (`finish`): write the record
and the snapshot, append the hop's summary to the hop stream, release the
lock; work the hop queued (SMS, jobs) rides on the same round trip. Each is
one Lua script (`_BEGIN`, `_FINISH`, through `gateway.core.redis_scripts`):
the client packs and parses one command instead of seven, which was most
of a hop's cost in the gateway's own process.

The hop stream (`HOPS_STREAM`) is how the gateway keeps its own account of
sessions without SQL on the hop: one small entry per applied hop (session id,
time, screen, continue/end/error, hop count, language; no phone number),
capped at about HOPS_MAXLEN entries. `gateway.ussd.sessionlog.drain` folds it
into one SQL row per session.
"""
from __future__ import annotations

import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field
from importlib import resources

import orjson
import redis
import zstandard

from gateway.core.redis_scripts import Script
from gateway.ussd import profiles, registered

PREFIX = "isoko:ussd"
LOCK_MS = 10_000  # the provider gives up after ~10 s; a hop never holds longer
# Replies kept for retransmissions: this hop's and the two before (a late
# duplicate of an earlier hop still gets its own answer). The provider
# retries a hop only until it is answered, so older ones do not come back;
# each costs up to ~160 bytes before compression.
REPLIES_KEPT = 3
# Records and snapshots longer than this are stored compressed; shorter
# ones as plain JSON.
PACK_OVER = 200
# The stored format's first byte says how the rest is compressed.
# PACK_V2 (written): a zstd frame at level 3 primed with PACK_DICT_V2, the
# shipped menu's strings, product and district names as a record's JSON
# holds them (`gateway/data/pack_v2.txt`), then PACK_DICT: a journey's
# record takes about a third of its JSON, in about 5 us to pack and 2.5 to
# unpack. PACK_V1 (raw deflate primed with PACK_DICT alone, written up to
# 0.5.3 and still read) took about 12 and 4, and stored a mid-journey
# record in 267 bytes where PACK_V2 takes 215 (tests/perf). A navigation
# hop packs twice (record, snapshot) and unpacks once.
# A dictionary is part of its stored format: never edit one; add a new one
# under a new first byte instead (`unpack` must read every format while
# records in it live, i.e. one session TTL). Menus edited since only
# compress a little less.
PACK_V1 = b"\x01"
PACK_V2 = b"\x02"
PACK_DICT = (
    b'"hist":["main","sell_product","sell_quantity","sell_price","buy_product","buy_offer",'
    b'"my_listings","my_orders","prices_product","my_alerts"],"shown":null,"end":false,"opts":[0,0]},'
    b'"product_label":"","product_unit":"kg","product_ref":,"quantity":,"price_area":"Rwanda",'
    b'"price_now":"","price":,"price_low":,"price_high":,"price_ref":,"name":"","district":"",'
    b'"product":"","lang":"rw","lang":"en","producer_id":,"network":"63510","vals":{"phone":"+25078'
    b'","scr":"","pg":0,{"state":{"st":{"menu":"marketplace","ver":"t":"","rep":{"CON ","END ",'
    b'"\\n0. Back","o":null,"n":'
)
PACK_DICT_V2 = resources.files("gateway").joinpath("data", "pack_v2.txt").read_bytes() + PACK_DICT
_ZSTD_LEVEL = 3
_ZSTD_DICT = zstandard.ZstdCompressionDict(PACK_DICT_V2, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
_ZSTD_DICT.precompute_compress(level=_ZSTD_LEVEL)  # once, not on every record
# A zstd context serves one call at a time, and a web worker answers hops
# on several threads: each thread makes its own pair on first use.
_codecs = threading.local()
# A head read back from SQL is cached this long (see SessionStore.set_head).
HEAD_TTL = 10
HOPS_STREAM = f"{PREFIX}:hops"
# Hops kept when no drain runs (about a day of a busy service at ~1 hop/s);
# approximate trimming (~) keeps XADD O(1).
HOPS_MAXLEN = 100_000
# A phone's hop counter lives one clock minute (the key names the minute) and
# is kept a little longer, so a hop at :59.9 still finds it.
RATE_WINDOW = 60
RATE_TTL = 2 * RATE_WINDOW
# What a hop summary's "o" says: the reply continued, ended, or was the
# polite END of a hop that failed.
CONTINUE, END, ERROR = "c", "e", "x"

# Round trip 1 as one command. KEYS: lock, record, resume snapshot, menu
# head, the phone's hop counter, the producer profile, the registered
# phones (gateway.ussd.registered); ARGV: lock token, lock ms, counter TTL
# (set by the minute's first hop: the script is atomic, so no counter is
# ever left without one), the phone, the registered set's COMPLETE member.
# Answers {locked 1/0, record, snapshot, head, hops this minute, profile,
# unregistered 1/0}, missing values as nil. Unregistered is 1 only on a
# first hop with no cached profile, the set whole and the phone not in it.
_BEGIN = Script("""
local locked = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local hops = redis.call('INCR', KEYS[5])
if hops == 1 then redis.call('EXPIRE', KEYS[5], ARGV[3]) end
local record, profile = redis.call('GET', KEYS[2]), redis.call('GET', KEYS[6])
local unregistered = 0
if not record and not profile and redis.call('SISMEMBER', KEYS[7], ARGV[5]) == 1 then
  unregistered = 1 - redis.call('SISMEMBER', KEYS[7], ARGV[4])
end
return {locked and 1 or 0, record, redis.call('GET', KEYS[3]),
        redis.call('GET', KEYS[4]), hops, profile, unregistered}
""")
# Round trip 2 as one command. KEYS: record, resume snapshot, hop stream,
# lock; ARGV: record, its TTL, what to do with the snapshot (s = set it to
# the next argument for the one after seconds, d = delete it, k = keep it),
# the stream's approximate cap, then the hop summary's field/value pairs.
_FINISH = Script("""
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] == 's' then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
elseif ARGV[3] == 'd' then
  redis.call('DEL', KEYS[2])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', unpack(ARGV, 7))
redis.call('DEL', KEYS[4])
return 1
""")


def hop_summary(session_id: str, record: "Record", *, failed: bool, at: float) -> dict[str, str]:
    """The hop stream's entry for a hop that left `record` behind (its reply
    remembered, `hops` counted)."""
    state = record.state or {}
    screen = "resume" if record.offer is not None else state.get("scr")
    outcome = ERROR if failed else END if (record.reply or "").startswith("END") else CONTINUE
    return {"s": session_id, "t": f"{at:.3f}", "scr": str(screen or ""), "o": outcome,
            "n": str(record.hops), "l": str(state.get("vals", {}).get("lang") or "")}


def to_json(value) -> bytes:
    """Compact UTF-8 JSON of a record or snapshot. orjson, because the
    standard library's encoder and decoder were about a tenth of a
    navigation hop's CPU (every hop reads and writes its record, and
    mid-journey its snapshot too); non-string keys become strings, as
    `json.dumps` made them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def pack(data: bytes) -> bytes:
    """The stored form of a record or snapshot's JSON (`to_json`'s bytes):
    compressed when long (PACK_V2), else the JSON itself; `unpack` tells them
    apart by the first byte (and reads the plain JSON written before
    compression, and PACK_V1)."""
    if len(data) <= PACK_OVER:
        return data
    return PACK_V2 + _zstd()[0].compress(data)


def unpack(raw: bytes | str) -> str:
    """The JSON `pack` stored."""
    return raw if isinstance(raw, str) else unpack_bytes(raw).decode()


def unpack_bytes(raw: bytes) -> bytes:
    """The JSON `pack` stored, as UTF-8 bytes (what `orjson.loads` reads
    without a decode)."""
    kind = raw[:1]
    if kind == PACK_V2:
        return _zstd()[1].decompress(raw[1:])
    if kind == PACK_V1:
        inflate = zlib.decompressobj(-15, zdict=PACK_DICT)
        return inflate.decompress(raw[1:]) + inflate.flush()
    return raw


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """This thread's zstd compressor and decompressor for PACK_V2 (the
    frame names its size, so the decompressor needs no bound of its own)."""
    pair = getattr(_codecs, "pair", None)
    if pair is None:
        pair = _codecs.pair = (
            zstandard.ZstdCompressor(level=_ZSTD_LEVEL, dict_data=_ZSTD_DICT, write_checksum=False,
                                     write_content_size=True, write_dict_id=False),
            zstandard.ZstdDecompressor(dict_data=_ZSTD_DICT))
    return pair


def from_json(raw: bytes | str):
    """What `pack` stored, decoded."""
    return orjson.loads(raw if isinstance(raw, str) else unpack_bytes(raw))


def head_key(menu: str) -> str:
    """Where the published version of a menu is cached for every process."""
    return f"isoko:menu:head:{menu}"


@dataclass
class Record:
    """What a session remembers between hops."""

    state: dict | None = None
    text: str | None = None
    reply: str | None = None
    replies: dict = field(default_factory=dict)
    offer: dict | None = None
    hops: int = 0

    def dumps(self) -> bytes:
        """The stored form (`pack`ed JSON); the last reply is kept once, in
        `replies` under the last text."""
        return pack(to_json({"st": self.state, "t": self.text, "rep": self.replies,
                             "o": self.offer, "n": self.hops}))

    @classmethod
    def loads(cls, raw: bytes | str | None) -> "Record | None":
        if raw is None:
            return None
        d = from_json(raw)
        replies = d.get("rep") or {}
        reply = d.get("r", replies.get(d.get("t")))
        return cls(d.get("st"), d.get("t"), reply, replies, d.get("o"), d.get("n", 0))

    def remember(self, text: str, reply: str) -> None:
        """Keep `reply` as the answer to `text`, and a bounded past."""
        self.text, self.reply = text, reply
        self.replies[text] = reply
        while len(self.replies) > REPLIES_KEPT:
            self.replies.pop(next(iter(self.replies)))


@dataclass
class Begin:
    """The result of round trip 1."""

    token: str | None
    record: Record | None
    resume: dict | None
    head: int | None
    # This phone's hops in the current clock minute, this one included.
    hops_this_minute: int = 1
    # The caller's producer profile (gateway.ussd.profiles), None on a miss.
    profile: dict | None = None
    # The phone has no producer, by the registered phones' set
    # (gateway.ussd.registered): a first hop that needs no SQL to say "new".
    unregistered: bool = False


class SessionStore:
    """Session records, locks and resume snapshots for one Redis connection."""

    def __init__(self, client: redis.Redis, ttl: int = 300, resume_ttl: int = 600):
        self.client, self.ttl, self.resume_ttl = client, ttl, resume_ttl

    @staticmethod
    def _keys(session_id: str, phone: str) -> tuple[str, str, str]:
        return f"{PREFIX}:s:{session_id}", f"{PREFIX}:l:{session_id}", f"{PREFIX}:r:{phone}"

    def begin(self, session_id: str, phone: str, menu: str) -> Begin:
        """Take the session's lock, read everything a hop needs (the
        caller's producer profile included) and count the phone's hop (1
        round trip). Every hop counts, a retransmission too:
        the limit is about what reaches the gateway."""
        skey, lkey, rkey = self._keys(session_id, phone)
        qkey = f"{PREFIX}:q:{phone}:{int(time.time() // RATE_WINDOW)}"
        token = secrets.token_hex(8)
        locked, raw, resume, head, hops, profile, unregistered = _BEGIN.run(
            self.client, [lkey, skey, rkey, head_key(menu), qkey, profiles.key(phone), registered.KEY],
            [token, LOCK_MS, RATE_TTL, phone, registered.COMPLETE])
        return Begin(token if locked else None, Record.loads(raw),
                     from_json(resume) if resume else None, int(head) if head else None, int(hops),
                     profiles.loads(profile), unregistered == 1)

    def finish(self, session_id: str, phone: str, record: Record, *, snapshot: dict | None,
               keep_snapshot: bool, extra=(), failed: bool = False) -> None:
        """Save the record, set or clear the resume snapshot, note the hop in
        the hop stream, release the lock (1 round trip).

        `snapshot` None with `keep_snapshot` False deletes the phone's snapshot.
        `failed`: the reply is the polite END of a hop that raised.
        Each callable in `extra` may add its own commands to the same pipeline
        (work queued by the hop's actions)."""
        skey, lkey, rkey = self._keys(session_id, phone)
        if snapshot is not None:
            resume = [b"s", pack(to_json(snapshot)),
                      self.resume_ttl]
        else:
            resume = [b"k" if keep_snapshot else b"d", b"", 0]
        summary = hop_summary(session_id, record, failed=failed, at=time.time())
        keys = [skey, rkey, HOPS_STREAM, lkey]
        args = [record.dumps(), self.ttl, *resume, HOPS_MAXLEN,
                *(part for item in summary.items() for part in item)]
        if not extra:
            _FINISH.run(self.client, keys, args)
            return
        pipe = self.client.pipeline(transaction=False)
        for add in extra:
            add(pipe)
        _FINISH.add(pipe, keys, args)
        results = pipe.execute(raise_on_error=False)
        _FINISH.settle(self.client, results[-1], keys, args)
        for result in results[:-1]:  # the queued work's own commands: as a plain pipeline would
            if isinstance(result, Exception):
                raise result

    def release(self, session_id: str, phone: str) -> None:
        self.client.delete(self._keys(session_id, phone)[1])

    def wait_for(self, session_id: str, text: str, timeout: float = 8.0) -> str | None:
        """The reply another request is producing for (session, text), or None
        if it does not appear within `timeout` seconds."""
        skey, lkey, _ = self._keys(session_id, "")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(skey)
            pipe.exists(lkey)
            raw, locked = pipe.execute()
            record = Record.loads(raw)
            if record is not None and text in record.replies:
                return record.replies[text]
            if not locked:
                return None
            time.sleep(0.02)
        return None

    def set_head(self, menu: str, version: int, *, published: bool = False) -> None:
        """Cache the version new sessions get. A publish or rollback
        (`published`) sets it for good on the shared Redis; a value read back
        from the database only for HEAD_TTL, so a process with its own
        embedded store still notices a publish made elsewhere."""
        self.client.set(head_key(menu), version, ex=None if published else HEAD_TTL)
