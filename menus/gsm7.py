"""The GSM 03.38 default alphabet: what fits a USSD screen at full size.

A USSD page is counted in GSM-7 septets. A character of the extension table
costs two septets; a character outside both tables forces UCS-2 and halves what
fits, so menus must not contain one.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = frozenset("^{}\\[~]|€\f")
ALPHABET = BASIC | EXTENSION


def is_gsm7(ch: str) -> bool:
    """True when one character can be sent in the GSM-7 alphabet."""
    return ch in BASIC or ch in EXTENSION


def first_non_gsm7(text: str) -> str | None:
    """The first character of `text` outside GSM-7, or None when all fit."""
    if ALPHABET.issuperset(text):  # one pass in C: the usual case (every SMS is measured)
        return None
    for ch in text:
        if not is_gsm7(ch):
            return ch
    return None


_EXTENSION_CHARS = tuple(EXTENSION)


def length(text: str) -> int:
    """Septets `text` costs: extension characters count two."""
    # str.count runs in C: ten scans beat one Python loop per character.
    return len(text) + sum(map(text.count, _EXTENSION_CHARS))


def describe(ch: str) -> str:
    """A character named for an error message: `'ç' (U+00E7 LATIN SMALL LETTER C WITH CEDILLA)`."""
    name = unicodedata.name(ch, "unnamed")
    return f"{ch!r} (U+{ord(ch):04X} {name})"


def cut(text: str, septets: int) -> str:
    """The longest start of `text` that costs at most `septets` (an extension
    character is never half kept). One pass: bounded by the text's length,
    whatever `septets` is (zero or negative gives "")."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ch in EXTENSION else 1
        if used > septets:
            return text[:i]
    return text


# -- replacements: the one table the linters, `--fix` and typed input share ---

# Characters outside GSM-7 with a conventional GSM-7 spelling that Unicode
# decomposition does not give. Accented letters (ê, ç, â, î, ô, û, À, È...)
# come from `replacement`'s decomposition rule below.
REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\t": " ",
    "\u00ad": "", "\u200b": "", "\ufeff": "",  # invisible: soft hyphen, zero-width space, BOM
    "\u0153": "oe", "\u0152": "OE",
}
_PLAIN = BASIC - {"\r", "\n"}


@lru_cache(maxsize=4096)
def replacement(ch: str) -> str | None:
    """The GSM-7 spelling of one character outside GSM-7 (`ê` → `e`, `’` → `'`,
    `…` → `...`, a non-breaking space → a space), or None when it has none
    (an emoji, `½`). Characters already in GSM-7 have no replacement."""
    if is_gsm7(ch):
        return None
    if ch in REPLACEMENTS:
        return REPLACEMENTS[ch]
    if unicodedata.combining(ch):
        return ""  # a mark typed apart from its letter (e + U+0301): the letter stays
    # A letter with marks GSM-7 lacks keeps its base letter; a compatibility
    # form (a full-width digit, a superscript) its plain form. Only when every
    # remaining character is plain GSM-7: `½` (1⁄2) has no replacement.
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and all(c in _PLAIN for c in base):
        return base
    return None


def advice(ch: str) -> str:
    """What a linter proposes for a character outside GSM-7."""
    new = replacement(ch)
    if new is None:
        return "no GSM-7 replacement: reword"
    return f"replace it with {new!r}" if new else "remove it"


def fix(text: str) -> str:
    """`text` with every character outside GSM-7 that has a replacement
    replaced; everything else (GSM-7 or without a replacement) kept in place."""
    if first_non_gsm7(text) is None:
        return text
    out = []
    for ch in text:
        new = None if is_gsm7(ch) else replacement(ch)
        out.append(ch if new is None else new)
    return "".join(out)


def outside(text: str) -> list[str]:
    """The distinct characters of `text` outside GSM-7, in order of appearance."""
    return list(dict.fromkeys(ch for ch in text if not is_gsm7(ch)))


@lru_cache(maxsize=8192)  # list labels repeat on every hop; the function is pure
def sanitize(text: str) -> str:
    """Make a value (a typed name, a list label) safe to show on one line of a
    screen checked for GSM-7: line breaks and form feeds become spaces, a
    character outside GSM-7 takes its replacement (`ç` → `c`, `’` → `'`),
    anything left becomes '?'. Extension characters (`{`, `[`, `€`) are
    GSM-7 and kept: they cost two septets, so cut shown values with `cut`.
    """
    out = []
    for ch in text:
        if ch in _PLAIN or (ch in EXTENSION and ch != "\f"):
            out.append(ch)
        elif ch in "\r\n\f":
            out.append(" ")
        else:
            new = replacement(ch)
            out.append("?" if new is None else new)
    return "".join(out)
