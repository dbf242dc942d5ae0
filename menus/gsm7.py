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


def is_gsm7(ch: str) -> bool:
    """True when one character can be sent in the GSM-7 alphabet."""
    return ch in BASIC or ch in EXTENSION


def first_non_gsm7(text: str) -> str | None:
    """The first character of `text` outside GSM-7, or None when all fit."""
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


@lru_cache(maxsize=8192)  # list labels repeat on every hop; the function is pure
def sanitize(text: str) -> str:
    """Make text a user typed (a name, say) safe to show: accents outside GSM-7
    lose their accent (ç → c), anything else unprintable becomes '?'.

    Needed because users' input is shown back on screens whose size was
    checked assuming GSM-7 only.
    """
    out = []
    for ch in text:
        if ch in BASIC and ch not in "\r\n":
            out.append(ch)
            continue
        if ch in "\r\n\t\f":
            out.append(" ")
            continue
        base = unicodedata.normalize("NFKD", ch)
        kept = "".join(c for c in base if c in BASIC and c not in "\r\n")
        out.append(kept if kept else "?")
    return "".join(out)
