"""SMS texts: templates from `gateway/data/sms.yaml`, and segment counting.

Templates are trusted files shipped with the code (never operator input), and
are filled with `str.format_map`. The file is read on first use, not at import.
"""
from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any

import yaml

FALLBACK_LANGUAGE = "en"

# The GSM 03.38 default alphabet: one septet each.
GSM7_BASIC = frozenset(
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
# The extension table: an escape septet plus one, so two septets each.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|\u20ac")

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a part loses 7 to the UDH
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


@cache
def _catalogue() -> dict[str, Any]:
    source = resources.files("gateway").joinpath("data", "sms.yaml").read_text("utf-8")
    return yaml.safe_load(source)


def render(kind: str, lang: str, **values: Any) -> str:
    """The `kind` text in `lang` (English when that language is missing),
    with `{placeholders}` filled from `values`.

    Raises KeyError for an unknown kind or a placeholder without a value.
    """
    texts = _catalogue()["templates"][kind]
    template = texts.get(lang) or texts[FALLBACK_LANGUAGE]
    return template.format_map(values)


def unit_label(unit: str, lang: str) -> str:
    """How `unit` ("kg", "piece") is written after a number in `lang`."""
    labels = _catalogue()["units"].get(str(unit), {})
    return labels.get(lang) or labels.get(FALLBACK_LANGUAGE) or str(unit)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet (with extension)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segments(text: str) -> int:
    """How many SMS parts `text` takes (an empty text still takes one).

    GSM-7: 160 septets in one part, 153 per part when split; extension
    characters (`{`, `[`, the euro sign...) count two. Any other character
    switches the whole message to UCS-2: 70 code units, 67 per part.
    """
    if is_gsm7(text):
        size = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        size = len(text.encode("utf-16-le")) // 2
        single, part = UCS2_SINGLE, UCS2_PART
    if size <= single:
        return 1
    return math.ceil(size / part)
