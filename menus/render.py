"""Cutting a screen into USSD pages that each fit the menu's limit.

A page is the screen's text (first page only), numbered options, then the
navigation lines: "more" when another page follows, "back" when allowed.
Options are numbered from 1 on every page, so a number never collides with a
navigation key however long a list grows.
"""
from __future__ import annotations

from dataclasses import dataclass

from menus import gsm7


@dataclass(frozen=True)
class Page:
    """One rendered page and the options (by index) it shows."""

    text: str
    first: int
    count: int


def _join(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line)


def _cut(line: str, room: int) -> str:
    """Trim a line to `room` septets."""
    while gsm7.length(line) > room:
        line = line[:-1]
    return line


def split_words(text: str, room: int) -> list[str]:
    """Split text into chunks of at most `room` septets, on spaces where possible."""
    chunks, current = [], ""
    for word in text.replace("\n", " \n ").split(" "):
        candidate = f"{current} {word}".strip(" ") if current else word
        if gsm7.length(candidate) <= room:
            current = candidate
            continue
        if current:
            chunks.append(current.replace(" \n ", "\n").strip())
        current = _cut(word, room)
    if current:
        chunks.append(current.replace(" \n ", "\n").strip())
    return chunks or [""]


def paginate(text: str, options: list[str], *, limit: int, more: str, back: str | None,
             max_options: int = 7, split_text: bool = True) -> list[Page]:
    """Pages for a screen; `options` are labels, numbered here from 1 on each page. With `split_text`, a text too long for one page is
    spread over several (the run-time safety net); without it the text stays
    whole on page 1 (what the linter measures, so it can report the overflow)."""

    def footer(with_more: bool) -> list[str]:
        return [more if with_more else "", back or ""]

    def fits(lines: list[str], with_more: bool) -> bool:
        return gsm7.length(_join(lines + footer(with_more))) <= limit

    pages: list[Page] = []
    current: list[str] = []
    if text:
        if split_text and not fits([text], bool(options)):
            room = limit - gsm7.length(_join(footer(True))) - 1
            chunks = split_words(text, max(room, 10))
            for chunk in chunks[:-1]:
                pages.append(Page(_join([chunk] + footer(True)), 0, 0))
            text = chunks[-1]
        current = [text]
    first = 0
    for i, label in enumerate(options):
        following = i < len(options) - 1
        line = f"{i - first + 1}. {label}"
        if (i - first) < max_options and fits(current + [line], following):
            current.append(line)
            continue
        if current:
            pages.append(Page(_join(current + footer(True)), first, i - first))
        first, current = i, []
        line = f"1. {label}"
        if not fits([line], following):
            line = _cut(line, limit - gsm7.length(_join(footer(following))) - 1)
        current.append(line)
    pages.append(Page(_join(current + footer(False)), first, len(options) - first))
    return pages
