"""Placeholder templates: plain `{name}` substitution, nothing more.

A definition's texts can only name values; there is no attribute access,
indexing, call or format spec, so an operator's text can never reach the
process. Each placeholder declares its worst-case length and a format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from menus import gsm7

_TOKEN = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FORMATS = frozenset({"text", "int", "money"})


@dataclass(frozen=True)
class Placeholder:
    """A value a text may show: at most `max` characters once formatted."""

    name: str
    max: int
    format: str = "text"


def names(template: str) -> list[str]:
    """The placeholder names a template uses, in order."""
    return [m.group(1) for m in _TOKEN.finditer(template)]


def syntax_errors(template: str) -> list[str]:
    """Reasons a template is malformed: a bad placeholder name or a stray brace."""
    problems = [f"bad placeholder {{{n}}}" for n in names(template) if not _NAME.match(n)]
    if "{" in _TOKEN.sub("", template) or "}" in _TOKEN.sub("", template):
        problems.append("unbalanced brace")
    return problems


def format_value(value: object, fmt: str) -> str:
    """A value as shown on a screen. Money is ASCII: `18,000 RWF`."""
    if fmt in ("int", "money") and isinstance(value, int) and not isinstance(value, bool):
        shown = f"{value:,}"
        return f"{shown} RWF" if fmt == "money" else shown
    return gsm7.sanitize(str(value))


def shorten(shown: str, septets: int) -> str:
    """A shown value cut to `septets` (extension characters cost two), at the
    last space when that keeps at least half of it: a long name loses its last
    words ("Nyiraneza Marie Goretti Uwimana" in 25 is "Nyiraneza Marie
    Goretti"), not half a word."""
    cut = gsm7.cut(shown, septets)
    if len(cut) < len(shown) and shown[len(cut)] != " ":
        space = cut.rfind(" ")
        if space >= len(cut) // 2:
            cut = cut[:space]
    return cut.rstrip(" ") if len(cut) < len(shown) else cut


def fill(template: str, values: dict, placeholders: dict[str, Placeholder]) -> str:
    """Substitute every `{name}`; a value longer than its declared maximum is
    cut (`shorten`), so a page checked at worst case can never overflow at
    run time. An unknown or missing name renders empty rather than failing a
    hop, and the space an empty value leaves at a line's end is dropped
    ("Want: Beans {grade}" with no grade is "Want: Beans")."""
    if "{" not in template and " \n" not in template and not template.endswith(" "):
        return template  # most labels: nothing to substitute or drop, and a hop renders a dozen

    def one(m: re.Match) -> str:
        spec = placeholders.get(m.group(1))
        if spec is None or m.group(1) not in values or values[m.group(1)] is None:
            return ""
        return shorten(format_value(values[m.group(1)], spec.format), spec.max)

    return _LINE_END_SPACES.sub("", _TOKEN.sub(one, template))


_LINE_END_SPACES = re.compile(r" +(?=\n|$)")


def worst_case(template: str, placeholders: dict[str, Placeholder]) -> str:
    """The template with every placeholder at its declared maximum length."""

    def one(m: re.Match) -> str:
        spec = placeholders.get(m.group(1))
        return "W" * spec.max if spec else ""

    return _TOKEN.sub(one, template)
