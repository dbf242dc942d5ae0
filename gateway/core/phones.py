"""Phone numbers: normalised once at the edge, masked in every log line.

Every number the gateway stores or compares is an E.164 string (`+250788000001`).
`normalize` is the only way in; `mask` is the only way a number reaches a log,
because a phone number is personal data under Rwanda's data-protection law.

A number is made of ASCII digits only, with an optional leading `+` and the
separators people write between groups. The parser underneath would also read
letters (vanity numbers: `0788 CALL ME`) and any script's digits (`٠٧٨٨…`);
neither is a number anyone texted from, so both are refused before it runs.
"""
from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "RW"

# Longer input is never a phone number; refusing it early keeps the parser's
# work bounded whatever a caller (or a provider callback) sends.
_MAX_RAW_LENGTH = 64

# What a number may be written with: an optional `+`, then ASCII digits and
# single separators (space, hyphen, dot, brackets around a group).
_WRITTEN_NUMBER = re.compile(r"\+?[0-9 .()-]+")

# Characters of the number left visible after the country code, and at the end.
_VISIBLE_AFTER_CC = 2
_VISIBLE_TAIL = 2
# Below this many hidden characters a mask would reveal most of the number.
_MIN_HIDDEN = 4


class InvalidPhone(ValueError):
    """Raised by `normalize` for anything that is not a valid phone number."""


def normalize(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return `raw` as an E.164 string (`+2507XXXXXXXX`).

    Accepts the forms people and providers write: `0788000001`, `788000001`,
    `250788000001`, `00250788000001`, `+250 78 800 0001`. National numbers are
    read in `region`. Raises `InvalidPhone` (and nothing else, for any str) when
    the input is not a valid number: garbage, a letter or a non-ASCII digit
    anywhere, too short or long, an unknown country, or a number with an
    extension (an SMS cannot reach an extension).
    """
    if not isinstance(raw, str):
        raise InvalidPhone("phone number must be a string")
    text = raw.strip()
    if not text or len(text) > _MAX_RAW_LENGTH:
        raise InvalidPhone("not a phone number")
    if not text.isascii() or _WRITTEN_NUMBER.fullmatch(text) is None:
        raise InvalidPhone("not a phone number (only digits and a leading +)")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(f"not a phone number ({exc.error_type})") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        # Defensive: the parser has no documented exception besides the one
        # above, but a bad `region` or exotic input must still surface as
        # InvalidPhone, never as a 500.
        raise InvalidPhone(f"not a phone number ({type(exc).__name__})") from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalize_provider(raw: str) -> str:
    """A number as a provider's callback writes it: E.164 with or without the
    `+` (`+254711000001`, `254711000001`), or a Rwandan national form.

    Digits that are not a Rwandan number are read once more as international
    (the provider drops the `+` of foreign numbers at times); the rule on
    characters is `normalize`'s. Raises `InvalidPhone` like `normalize`.
    """
    if isinstance(raw, str) and len(raw) <= _MAX_RAW_LENGTH:
        return _provider_cached(raw)
    return _normalize_provider(raw)


# Every hop parses its caller's number, and callers dial again and again:
# the parse is a pure function of the text, so recent answers are kept
# (bounded; a refused number raises and is not kept).
@functools.lru_cache(maxsize=8192)
def _provider_cached(raw: str) -> str:
    return _normalize_provider(raw)


def _normalize_provider(raw: str) -> str:
    try:
        return normalize(raw)
    except InvalidPhone:
        text = raw.strip() if isinstance(raw, str) else ""
        if not (text.isascii() and text.isdigit()) or text.startswith("0"):
            raise
    return normalize("+" + text)


def mask(e164: str) -> str:
    """Return a loggable form of a phone number: `+250788000001` -> `+25078*****01`.

    Keeps the country code, the next two digits and the last two. Works on any
    value without raising; when the value is too short to keep anything
    hidden, every character is masked.
    """
    text = e164 if isinstance(e164, str) else str(e164)
    head = _visible_head_length(text) + _VISIBLE_AFTER_CC
    hidden = len(text) - head - _VISIBLE_TAIL
    if hidden < _MIN_HIDDEN:
        return "*" * len(text)
    return text[:head] + "*" * hidden + text[-_VISIBLE_TAIL:]


def _visible_head_length(text: str) -> int:
    """Length of the `+<country code>` prefix, or 1 when there is none."""
    if text.startswith("+"):
        for size in (1, 2, 3):
            digits = text[1 : 1 + size]
            if digits.isascii() and digits.isdigit() and int(digits) in COUNTRY_CODE_TO_REGION_CODE:
                return 1 + size
    return 1
