"""One USSD hop, from a validated request to the reply text.

Load (1 Redis round trip) → replay check → engine step → actions in one SQL
transaction → save (1 Redis round trip) → queued work after commit. Any crash
becomes a polite END that is also stored, so a retransmission gets the same.

No screen traps a caller: a redial is offered to continue only a journey
worth resuming, named by the menu's `resume_<screen>` string ("Continue
selling Coffee cherry, 50 kg?"), and `00` there leads to the main menu; an
order opened from its dial string has the main menu behind it (0 and 00);
a hop the provider sends mid-session that Redis has no record of (state
lost) starts again with the menu's `lost` line above the first screen.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from gateway.core.db import Database
from gateway.core.settings import MomoConfig
from gateway.core.phones import mask
from gateway.ussd import actions, budget, menustore
from gateway.ussd.sessions import Begin, Record, SessionStore
from gateway.ussd.sources import Sources
from menus import engine, gsm7, texts
from menus.loader import MenuCache
from menus.model import Menu

log = logging.getLogger(__name__)

MENU = "marketplace"
SORRY = {
    "rw": "Habaye ikibazo. Mwongere mugerageze nyuma.",
    "en": "Sorry, something went wrong. Please try again later.",
    "fr": "Désolé, une erreur est survenue. Réessayez plus tard.",
}
BUSY = {
    "rw": "Turacyakora ku cyifuzo cyawe. Ongera uhamagare.",
    "en": "Still working on your request. Please dial again.",
    "fr": "Traitement en cours. Recomposez, merci.",
}
# Past the per-phone hop limit (USSD_HOPS_PER_MINUTE). The rw wording is in
# GLOSSARY.md's "To review" section.
SLOW_DOWN = {
    "rw": "Mwakoresheje serivisi kenshi cyane. Mutegereze umunota umwe mwongere muhamagare.",
    "en": "Too many requests from your phone. Please wait a minute and dial again.",
    "fr": "Trop de demandes depuis votre téléphone. Attendez une minute puis recomposez.",
}
DEFAULT_HOPS_PER_MINUTE = 60
# The `lost` line of a menu that has none (see module docstring).
LOST = {
    "rw": "Twabuze aho wari ugeze. Ongera utangire.",
    "en": "We lost your place. Please start again.",
    "fr": "Nous avons perdu votre étape. Recommencez.",
}
RESUME_PREFIX = "resume_"


@dataclass(frozen=True)
class Hop:
    """A validated provider callback."""

    session_id: str
    phone: str
    network: str
    service_code: str
    text: str


class UssdService:
    """Answers hops. Thread-safe; one per app."""

    def __init__(self, store: SessionStore, db: Database, menus: MenuCache, queue_sms, *,
                 menu_name: str = MENU, service_code: str = "*384*7#",
                 order_ttl: timedelta = timedelta(hours=24), momo: MomoConfig | None = None,
                 queue_payment=lambda payment_id: None,
                 hops_per_minute: int = DEFAULT_HOPS_PER_MINUTE):
        self.store, self.db, self.menus = store, db, menus
        self.hops_per_minute = hops_per_minute
        self.queue_sms, self.menu_name, self.service_code = queue_sms, menu_name, service_code
        self.order_ttl = order_ttl
        self.momo, self.queue_payment = momo, queue_payment
        self.sources = Sources()
        # Hooks the web layer sets: hop metrics (gateway.metrics) and the
        # simulator's unpublished drafts (gateway.simulator).
        self.observe = lambda outcome, started, reply=None, first=False: None
        self.drafts = None

    def answer(self, hop: Hop) -> str:
        """The full reply body (`CON ...` or `END ...`) for a hop. Under
        `BoundedHops` it may raise `budget.Offload`, whose `resume` carries
        the hop on from after its first round trip."""
        started = time.perf_counter()
        begin = self.store.begin(hop.session_id, hop.phone, self.menu_name)
        budget.note_language(_language(begin))
        try:
            return self._answer_begun(hop, begin, started)
        except budget.Offload as offloaded:
            offloaded.resume = lambda: self._answer_begun(hop, begin, started)
            raise

    def _answer_begun(self, hop: Hop, begin: Begin, started: float) -> str:
        record = begin.record
        if record is not None and hop.text in record.replies:
            if begin.token:
                self.store.release(hop.session_id, hop.phone)
            self.observe("replay", started)
            return record.replies[hop.text]  # a retransmission: same answer, nothing applied
        if begin.hops_this_minute > self.hops_per_minute:
            if begin.token:
                self.store.release(hop.session_id, hop.phone)
            log.warning("ussd hop refused: phone=%s made %d hops this minute",
                        mask(hop.phone), begin.hops_this_minute)
            self.observe("limited", started)
            return "END " + SLOW_DOWN[_language(begin)]
        if begin.token is None:
            budget.offload()  # waits up to 8 s for the other request's reply
            waited = self.store.wait_for(hop.session_id, hop.text)
            self.observe("replay" if waited else "error", started)
            return waited or "END " + BUSY["en"]
        reply = self._apply(hop, begin)
        self.observe("applied", started, reply, first=record is None)
        return reply

    def _apply(self, hop: Hop, begin: Begin) -> str:
        record = begin.record or Record()
        lang = (record.state or {}).get("vals", {}).get("lang", "rw")
        snapshot, keep, queued, failed = None, True, [], False
        try:
            with ExitStack() as stack:
                turn, menu, queued = self._turn(hop, begin, record, stack)
                reply = ("END " if turn.end else "CON ") + turn.text
                record.state, record.offer = turn.state, getattr(turn, "offer", None)
                snapshot, keep = self._snapshot(turn, menu)
        except Exception:
            log.exception("ussd hop failed: session=%s phone=%s text_len=%d",
                          hop.session_id[:40], mask(hop.phone), len(hop.text))
            reply = "END " + SORRY.get(lang, SORRY["en"])
            record.state = dict(record.state or {}, end=True)
            failed = True
        budget.offload_if_late()  # the second round trip must fit what is left
        record.hops += 1
        record.remember(hop.text, reply)
        # The SQL is committed: queued SMS ride in the same round trip as the
        # session. If Redis fails here, their rows stay `queued` for the sweep.
        self.store.finish(hop.session_id, hop.phone, record, snapshot=snapshot, keep_snapshot=keep,
                          extra=queued, failed=failed)
        return reply

    # -- the engine part ------------------------------------------------------

    def _menu(self, version: int, name: str | None = None) -> Menu:
        if version == 0 and self.drafts is not None:  # an unpublished draft, dialled in the simulator
            return self.drafts.menu(name)

        def fetch() -> dict:
            budget.offload()
            with self.db.session() as s:
                return menustore.definition(s, self.menu_name, version)
        return self.menus.get(self.menu_name, version, fetch)

    def _head(self, begin: Begin) -> int:
        if self.drafts is not None and self.drafts.requested():  # "dial draft": version 0
            return 0
        if begin.head is not None:
            return begin.head
        budget.offload()
        with self.db.session() as s:
            version = menustore.head(s, self.menu_name)
        if version is None:
            raise LookupError(f"menu {self.menu_name} is not published")
        self.store.set_head(self.menu_name, version)
        return version

    def _turn(self, hop: Hop, begin: Begin, record: Record, stack: ExitStack):
        budget.check()  # a hop that waited out its budget on Redis does nothing more
        tx = _LazyTransaction(self.db, stack)
        ctx = engine.Context(lambda name, vals, lang: self.sources.items(tx.session, name, vals, lang))
        fresh = False
        if record.offer is not None:
            turn, menu, fresh = self._answer_offer(hop, begin, record, ctx)
        elif record.state is None:
            turn, menu = self._first(hop, begin, ctx)
            fresh = not isinstance(turn, _Offer)
        else:
            menu = self._menu(record.state["ver"], record.state.get("menu"))
            turn = engine.step(menu, record.state, _new_input(record.text or "", hop.text), ctx)
        turn = self._run_actions(menu, turn, hop, tx, ctx, begin)
        if fresh:
            turn = _way_home(menu, turn, ctx)
            if begin.record is None and hop.text and "dial_order" not in turn.state["vals"]:
                turn = _lost(menu, turn)
        tx.commit()
        return turn, menu, tx.after_commit

    def _first(self, hop: Hop, begin: Begin, ctx):
        values = self._start_values(hop)
        resume = begin.resume
        # A dialled order string says what the caller wants: no resume offer then.
        if resume and resume.get("state") and "dial_order" not in values:
            try:
                menu = self._menu(resume["state"]["ver"], resume["state"].get("menu"))
                return _Offer(menu, resume, None), menu
            except Exception:
                log.warning("resume snapshot unusable; starting afresh")
        menu = self._menu(self._head(begin))
        return engine.start(menu, values, ctx), menu

    def _start_values(self, hop: Hop) -> dict:
        """Values a new session starts with; an order code dialled as
        `*384*7*482113#` (or sent as the first hop's text) opens that order."""
        values = {"phone": hop.phone, "network": hop.network}
        base = self.service_code.rstrip("#")
        extra = ""
        if hop.service_code.startswith(base + "*") and hop.service_code.endswith("#"):
            extra = hop.service_code[len(base) + 1:-1]
        elif hop.text.isdecimal() and hop.text.isascii():
            extra = hop.text
        if extra.isdecimal() and extra.isascii() and 4 <= len(extra) <= 8:
            values["dial_order"] = extra
        return values

    def _answer_offer(self, hop: Hop, begin: Begin, record: Record, ctx):
        """(turn, menu, whether the session starts afresh) for an answer to the offer."""
        menu = self._menu(record.offer["state"]["ver"], record.offer["state"].get("menu"))
        choice = _new_input(record.text or "", hop.text).strip()
        if choice == "1":
            return engine.redisplay(menu, record.offer["state"], ctx), menu, False
        if choice in ("2", menu.keys["home"]):  # no, or the main menu key
            fresh = self._menu(self._head(begin))
            return engine.start(fresh, self._start_values(hop), ctx), fresh, True
        return _Offer(menu, record.offer, "invalid"), menu, False

    def _run_actions(self, menu: Menu, turn, hop: Hop, tx: "_LazyTransaction", ctx, begin: Begin):
        """Carry out the turn's actions (they may chain) inside the hop's transaction."""
        env = None
        for _ in range(engine.MAX_CHAIN):
            if turn.action is None:
                return turn
            if env is None:
                env = actions.ActionEnv(
                    open_session=tx.session, read_one=tx.read_one, phone=hop.phone, network=hop.network,
                    session_id=hop.session_id, text=hop.text, queue_sms=self.queue_sms,
                    service_code=self.service_code, order_ttl=self.order_ttl,
                    after_commit=tx.after_commit, momo=self.momo, queue_payment=self.queue_payment,
                    redis=self.store.client, profile=begin.profile,
                    unregistered=begin.unregistered)
            outcome, values = actions.run(turn.action.name, env, turn.action.values)
            turn = engine.resume(menu, turn.state, outcome, values, ctx)
        raise engine.EngineError("too many chained actions")

    @staticmethod
    def _snapshot(turn, menu: Menu) -> tuple[dict | None, bool]:
        """What to keep for a redial: the state mid-journey, nothing once ended."""
        state = getattr(turn, "state", None)
        if isinstance(turn, _Offer):
            return None, True
        if turn.end or not state:
            return None, False
        if state.get("scr") in (menu.start, menu.home) or not state.get("hist"):
            return None, False
        if not _resumable(menu, state):
            return None, False
        return {"state": state}, False


def _resumable(menu: Menu, state: dict) -> bool:
    """Whether `resume_question` has a question for `state`; asked on every
    hop mid-journey, so a screen with its own question is not filled in."""
    if RESUME_PREFIX + str(state.get("scr")) in menu.strings:
        return True
    return resume_question(menu, state) is not None


def resume_question(menu: Menu, state: dict) -> str | None:
    """What the redial offer asks for a session dropped in `state`: the menu's
    `resume_<screen>` string filled with the session's values, or None when
    that screen is not worth resuming. A menu with no `resume_<screen>` string
    at all (an older published version) asks its generic `resume` anywhere."""
    lang = state.get("vals", {}).get("lang")
    lang = lang if lang in menu.languages else menu.languages[0]
    text = menu.strings.get(RESUME_PREFIX + str(state.get("scr")))
    if text is None:
        if any(key.startswith(RESUME_PREFIX) for key in menu.strings):
            return None
        return menu.string("resume", lang)
    template = text.get(lang) or text.get("*") or text.get(menu.languages[0], "")
    return texts.fill(template, state.get("vals", {}), menu.placeholders)


def _way_home(menu: Menu, turn, ctx):
    """A registered caller who starts a session inside a journey (an order
    opened from its dial string) gets the main menu as the screen before it,
    so back and the home key work as on every other screen."""
    state = turn.state
    if (turn.end or not menu.home or state.get("hist") or state.get("scr") in (menu.home, None)
            or not state["vals"].get("producer_id")):
        return turn
    return engine.redisplay(menu, {**state, "hist": [menu.home]}, ctx)


def _lost(menu: Menu, turn):
    """The first page of a session whose state was lost, with one line saying
    so above it (left off, and logged, if the page would not fit)."""
    lang = turn.state["vals"].get("lang")
    lang = lang if lang in menu.languages else menu.languages[0]
    line = menu.string("lost", lang) or LOST.get(lang, LOST["en"])
    text = f"{line}\n{turn.text}"
    if gsm7.length(text) > menu.limit:
        log.warning("lost-session line left off: screen %s would be too long", turn.state.get("scr"))
        return turn
    return dataclasses.replace(turn, text=text)


def _new_input(previous: str, text: str) -> str:
    """This hop's input: the provider sends every input so far joined by '*'."""
    if previous == "":
        return text
    if text.startswith(previous + "*"):
        return text[len(previous) + 1:]
    return text.rsplit("*", 1)[-1]


class _Offer:
    """A turn that asks whether to continue a dropped session."""

    end = False
    action = None

    def __init__(self, menu: Menu, snapshot: dict, error: str | None):
        lang = snapshot["state"].get("vals", {}).get("lang", menu.languages[0])
        question = resume_question(menu, snapshot["state"]) or menu.string("resume", lang)
        lines = [menu.string(error, lang)] if error else []
        lines += [question, f"1. {menu.string('yes', lang)}", f"2. {menu.string('no', lang)}"]
        self.text = "\n".join(lines)
        self.state = None
        self.offer = snapshot


def _language(begin: Begin) -> str:
    """The caller's language as far as this hop knows it: the session's, else
    the one of the journey they may resume, else Kinyarwanda."""
    for state in ((begin.record.state if begin.record else None),
                  (begin.resume or {}).get("state")):
        lang = ((state or {}).get("vals") or {}).get("lang")
        if lang in SLOW_DOWN:
            return lang
    return "rw"


class _LazyTransaction:
    """One SQL session for the hop, opened only if a source or action needs it."""

    def __init__(self, db: Database, stack: ExitStack):
        self.db, self.stack, self._session = db, stack, None
        self.after_commit: list = []

    def session(self):
        if self._session is None:
            budget.offload()  # SQL may block past any timeout: on a bounded thread
            self._session = Session(self.db.engine, expire_on_commit=False)
            self.stack.callback(self._session.close)
        return self._session

    def read_one(self, statement, params: dict):
        """The one row (or None) of a statement that stands alone: in the
        hop's transaction once it has begun (so it sees the hop's writes),
        else `Database.read_one`, no transaction at all."""
        if self._session is not None:
            row = self._session.execute(statement, params).one_or_none()
            return None if row is None else tuple(row)
        budget.offload()
        return self.db.read_one(statement, params)

    def commit(self) -> None:
        """Commit the hop's SQL; `after_commit` work is run by the caller after.
        Past the hop's budget nothing is committed (`budget.check` raises):
        its caller was told to try again."""
        # A session no statement used has nothing to commit (a first hop
        # answered from the cached profile): skip SQLAlchemy's empty commit.
        if self._session is not None and self._session.in_transaction():
            budget.check()
            self._session.commit()
