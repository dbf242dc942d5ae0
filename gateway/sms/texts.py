"""SMS texts: templates from `gateway/data/sms.yaml`, segment counting, and
the linter behind `gateway sms lint`.

Templates are trusted files shipped with the code (never operator input), and
are filled with `str.format_map`. The file is read on first use, not at import.
The alphabet is `menus.gsm7`'s (the one the USSD screens are checked with).
"""
from __future__ import annotations

import logging
import string
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gateway.core.db import Database, normalize_url
from menus import gsm7

log = logging.getLogger(__name__)

FALLBACK_LANGUAGE = "en"
LANGUAGES = ("rw", "en", "fr")

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a part loses 7 to the UDH
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units

# The linter's limits, at the worst case of every placeholder.
WARN_SEGMENTS, MAX_SEGMENTS = 2, 3

# The longest value each placeholder can take once formatted (characters).
# Derived from the data's limits (gateway.market_rules, the catalogue, the
# models); a placeholder missing here is assumed UNKNOWN_WIDTH long, with a warning.
PLACEHOLDER_WIDTHS = {
    "code": 6,  # listing and order codes: 6 digits
    "product": 43,  # a product name (<= 20) and " (grade)" (<= 20)
    "quantity": 9,  # "1,000,000"
    "unit": 5,  # "igice"
    "price": 15,  # "100,000,000 RWF"
    "old_price": 15,  # a price alert's previous reference price, as "price"
    "total": 23,  # 1,000,000 x 100,000,000 RWF
    "amount": 23,  # a payout: at most the total
    "dial": 20,  # a USSD code such as *384*44135#
    "name": 60,  # a producer's name (gateway.market.rules.NAME_MAX)
    "buyer": 30,  # names in SMS are cut to 30 (gateway.orders.service.NAME_SENT)
    "seller": 30,
    "delivery_code": 4,
    "phone": 13,  # +2507XXXXXXXX
    "district": 20,
    "hours": 3,
}
UNKNOWN_WIDTH = 20
SESSION_INFO_KEY = "isoko.sms_texts"  # Session.info: the published texts' loader


@cache
def _catalogue() -> dict[str, Any]:
    return yaml.safe_load(shipped_source())


def shipped_source() -> str:
    """The text of the shipped `gateway/data/sms.yaml`."""
    return resources.files("gateway").joinpath("data", "sms.yaml").read_text("utf-8")


def published(s: Session) -> dict | None:
    """The SMS texts the operators published, as the session's Database knows
    them (see `use_published`), or None: render from the shipped file."""
    loader = s.info.get(SESSION_INFO_KEY)
    try:
        return loader() if loader is not None else None
    except Exception:  # an SMS must never fail because the published texts can't be read
        return None


def use_published(db: Database) -> PublishedSmsTexts:
    """Make every session of `db` carry the published texts' loader; returns
    it (the console invalidates it after a publish)."""
    loader = PublishedSmsTexts(db.url)
    db.info[SESSION_INFO_KEY] = loader
    return loader


def render(kind: str, lang: str, published: dict | None = None, /, **values: Any) -> str:
    """The `kind` text in `lang` (English when that language is missing),
    with `{placeholders}` filled from `values`: the `published` texts first
    (`published(session)`), the shipped file for a kind, language or
    placeholder they lack.

    Raises KeyError for an unknown kind or a placeholder without a value.
    """
    if published is not None:
        texts = (published.get("templates") or {}).get(kind) or {}
        template = texts.get(lang) or texts.get(FALLBACK_LANGUAGE)
        if isinstance(template, str):
            try:
                return template.format_map(values)
            except (KeyError, ValueError, IndexError):
                pass  # a bad published text falls back to the shipped one
    texts = _catalogue()["templates"][kind]
    template = texts.get(lang) or texts[FALLBACK_LANGUAGE]
    return template.format_map(values)


def unit_label(unit: str, lang: str, published: dict | None = None) -> str:
    """How `unit` ("kg", "piece") is written after a number in `lang`
    (the `published` texts first, as for `render`)."""
    for catalogue in (published, _catalogue()):
        labels = ((catalogue or {}).get("units") or {}).get(str(unit)) or {}
        label = labels.get(lang) or labels.get(FALLBACK_LANGUAGE)
        if isinstance(label, str):
            return label
    return str(unit)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet (with extension)."""
    return gsm7.first_non_gsm7(text) is None


def segments(text: str) -> int:
    """How many SMS parts `text` takes (an empty text still takes one).

    GSM-7: 160 septets in one part, 153 per part when split; extension
    characters (`{`, `[`, the euro sign...) count two. Any other character
    switches the whole message to UCS-2: 70 UTF-16 code units, 67 per part;
    a character beyond the BMP (an emoji) is a surrogate pair of two.

    A split never cuts a character in two: an escape pair or a surrogate pair
    that would straddle the end of a part starts the next one, so
    `segments('a' * 152 + '€' + 'a' * 152)` is 3, not ceil(306 / 153) = 2.
    """
    gsm = is_gsm7(text)
    # The size in C first: most texts fit one part, and need no loop per character.
    size = gsm7.length(text) if gsm else len(text.encode("utf-16-le", "surrogatepass")) // 2
    if size <= (GSM7_SINGLE if gsm else UCS2_SINGLE):
        return 1
    if gsm:
        costs = [2 if ch in gsm7.EXTENSION else 1 for ch in text]
        part = GSM7_PART
    else:
        costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        part = UCS2_PART
    parts, room = 1, part
    for cost in costs:
        if cost > room:
            parts, room = parts + 1, part
        room -= cost
    return parts


# --- the linter -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One finding: `level` is "error" or "warning"; `kind`/`lang` say where."""

    level: str
    kind: str
    lang: str
    message: str

    def __str__(self) -> str:
        where = self.kind + (f" [{self.lang}]" if self.lang else "")
        return f"{self.level}: {where}: {self.message}"


def lint(data: Any) -> list[Problem]:
    """Every problem of a parsed sms.yaml: each template in rw, en and fr,
    GSM-7 only, well-formed `{placeholders}`, the same placeholders in every
    language, and its size at the worst case of every placeholder (a warning
    above WARN_SEGMENTS segments, an error above MAX_SEGMENTS)."""
    if not isinstance(data, dict):
        return [Problem("error", "(file)", "", "the file must be a mapping with 'templates'")]
    problems: list[Problem] = []
    templates = data.get("templates")
    if not isinstance(templates, dict) or not templates:
        problems.append(Problem("error", "(file)", "", "'templates' must be a non-empty mapping"))
        templates = {}
    for kind, texts in templates.items():
        problems += _lint_kind(str(kind), texts)
    units = data.get("units", {})
    if not isinstance(units, dict):
        problems.append(Problem("error", "(units)", "", "'units' must be a mapping"))
        units = {}
    for unit, labels in units.items():
        if not isinstance(labels, dict):
            problems.append(Problem("error", f"unit {unit}", "", "must map languages to labels"))
            continue
        for lang in LANGUAGES:
            label = labels.get(lang)
            if not isinstance(label, str) or not label:
                problems.append(Problem("error", f"unit {unit}", lang, "missing"))
            elif not is_gsm7(label):
                problems.append(Problem("error", f"unit {unit}", lang, _outside(label)))
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.level == "error"]


def _lint_kind(kind: str, texts: Any) -> list[Problem]:
    if not isinstance(texts, dict):
        return [Problem("error", kind, "", "must map languages (rw, en, fr) to texts")]
    problems = []
    names_by_lang: dict[str, set[str]] = {}
    for lang in LANGUAGES:
        if lang not in texts:
            problems.append(Problem("error", kind, lang, "missing"))
    for lang, text in texts.items():
        lang = str(lang)
        if lang not in LANGUAGES:
            problems.append(Problem("warning", kind, lang, f"unknown language (use {', '.join(LANGUAGES)})"))
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem("error", kind, lang, "must be a non-empty text"))
            continue
        if not is_gsm7(text):
            problems.append(Problem("error", kind, lang, _outside(text)))
        names, syntax = _placeholders(text)
        if syntax:
            problems.append(Problem("error", kind, lang, syntax))
            continue
        names_by_lang[lang] = set(names)
        problems += _size(kind, lang, text)
    if names_by_lang:
        everywhere = set.union(*names_by_lang.values())
        for lang, names in names_by_lang.items():
            if names != everywhere:
                problems.append(Problem(
                    "warning", kind, lang,
                    f"does not use {', '.join('{' + n + '}' for n in sorted(everywhere - names))}"
                    " (the other languages do)"))
    return problems


def _outside(text: str) -> str:
    """Every character of `text` outside GSM-7, each with its replacement
    (the table `gateway sms lint` and `gateway menus lint --fix` share)."""
    named = "; ".join(f"{gsm7.describe(ch)}: {gsm7.advice(ch)}" for ch in gsm7.outside(text))
    return f"character outside GSM-7: {named} (one such character halves what an SMS holds)"


def _placeholders(text: str) -> tuple[list[str], str | None]:
    """The placeholder names, or a reason the template is malformed."""
    names = []
    try:
        for _, name, spec, conversion in string.Formatter().parse(text):
            if name is None:
                continue
            if not name.isidentifier():
                return [], f"bad placeholder {{{name}}}: only plain names (no index, attribute or position)"
            if spec or conversion:
                return [], f"placeholder {{{name}}} has a format spec or conversion; format the value instead"
            names.append(name)
    except ValueError as exc:
        return [], f"malformed placeholder ({exc}); write a literal brace as {{{{ or }}}}"
    return names, None


def _size(kind: str, lang: str, text: str) -> list[Problem]:
    widths = {}
    problems = []
    for _, name, _, _ in string.Formatter().parse(text):
        if name is None or name in widths:
            continue
        if name not in PLACEHOLDER_WIDTHS:
            problems.append(Problem("warning", kind, lang,
                                    f"no known width for {{{name}}}: assuming {UNKNOWN_WIDTH} characters"))
        widths[name] = "x" * PLACEHOLDER_WIDTHS.get(name, UNKNOWN_WIDTH)
    worst = text.format_map(widths)
    parts = segments(worst)
    size = f"{parts} segments at worst ({gsm7.length(worst)} characters)"
    if parts > MAX_SEGMENTS:
        problems.append(Problem("error", kind, lang, f"{size}; the limit is {MAX_SEGMENTS}"))
    elif parts > WARN_SEGMENTS:
        problems.append(Problem("warning", kind, lang, f"{size}; keep it to {WARN_SEGMENTS}"))
    return problems


# -- the SMS texts operators publish ------------------------------------------
#
# Published versions of the SMS texts are rows of `menu_versions` under the
# name SMS_TEXTS (the console publishes them; see gateway/console/sms_texts.py).
# `PublishedSmsTexts` is the loader `render` consults before the shipped file:
# it answers the head version's catalogue, or None when nothing is published
# (or the database cannot be read: the shipped texts still go out). The
# composition root gives each Database one (`use_published`); sessions carry
# it in `Session.info`, so whoever renders inside a session gets the texts the
# operators published, whichever process it runs in.

SMS_TEXTS = "sms-texts"


class PublishedSmsTexts:
    """A callable returning the published SMS catalogue (dict) or None.

    It re-reads the head at most every `ttl` seconds, through its own small
    engine without a pool: it runs inside `render`, often while the
    caller's own transaction holds SQLite's write lock, and a plain read on a
    second connection never waits for that lock (WAL). `invalidate()` makes
    the next call re-read at once (the console calls it after a publish)."""

    def __init__(self, url, ttl: float = 10.0):
        self.url, self.ttl = url, ttl
        self._engine = None
        self._checked = float("-inf")
        self._state: tuple[int | None, dict | None] = (None, None)

    def invalidate(self) -> None:
        self._checked = float("-inf")

    def __call__(self) -> dict | None:
        now = time.monotonic()
        if now - self._checked >= self.ttl:
            self._checked = now
            self._refresh()
        return self._state[1]

    def _refresh(self) -> None:
        try:
            if self._engine is None:
                self._engine = create_engine(normalize_url(self.url), poolclass=NullPool)
            with self._engine.connect() as connection:
                version = connection.execute(sql("SELECT version FROM menu_heads WHERE name = :n"),
                                             {"n": SMS_TEXTS}).scalar()
                if version == self._state[0]:
                    return
                source = None if version is None else connection.execute(
                    sql("SELECT source FROM menu_versions WHERE name = :n AND version = :v"),
                    {"n": SMS_TEXTS, "v": version}).scalar()
                connection.rollback()
            catalogue = yaml.safe_load(source) if source else None
            self._state = (version, catalogue if isinstance(catalogue, dict) else None)
        except Exception as exc:  # keep what we had: an SMS must never fail on this
            log.warning("published SMS texts unreadable (%s); keeping %s",
                        exc.__class__.__name__,
                        "version %s" % self._state[0] if self._state[0] else "the shipped texts")
