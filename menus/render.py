"""Cutting a screen into USSD pages that each fit the menu's limit.

A page is the screen's text (first page only), numbered options, then the
navigation lines: "more" when another page follows, "back" when allowed.
Options are numbered from 1 on every page, so a number never collides with a
navigation key however long a list grows.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from menus import gsm7

# Screens repeat: most hops show a page some hop showed before (the main
# menu, a district list), and cutting it again was a sixth of a navigation
# hop's time. Pages are pure functions of their arguments, so the latest
# PAGES_CACHED distinct screens are kept (a few MB at most).
PAGES_CACHED = 4096


@dataclass(frozen=True)
class Page:
    """One rendered page and the options (by index) it shows."""

    text: str
    first: int
    count: int


def _join(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line)


def _cut(line: str, room: int) -> str:
    """Trim a line to `room` septets ("" when there is no room at all)."""
    return gsm7.cut(line, room)


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
             max_options: int = 7, split_text: bool = True, reserve: int = 0) -> list[Page]:
    """Pages for a screen (see `_paginate`), from a cache of recent screens."""
    return list(_cached(text, tuple(options), limit, more, back, max_options, split_text, reserve))


@lru_cache(maxsize=PAGES_CACHED)
def _cached(text: str, options: tuple[str, ...], limit: int, more: str, back: str | None,
            max_options: int, split_text: bool, reserve: int) -> tuple[Page, ...]:
    return tuple(_paginate(text, options, limit=limit, more=more, back=back,
                           max_options=max_options, split_text=split_text, reserve=reserve))


def _paginate(text: str, options: tuple[str, ...], *, limit: int, more: str, back: str | None,
              max_options: int, split_text: bool, reserve: int) -> list[Page]:
    """Pages for a screen; `options` are labels, numbered here from 1 on each
    page. With `split_text`, a text too long for one page is spread over
    several (the run-time safety net); without it the text stays whole on
    page 1 (what the linter measures, so it can report the overflow).

    `reserve` septets of every page are kept free for a line shown above it
    (an error after a wrong answer), so showing that line never moves an
    option to another page.

    Always returns, in one pass over the text's words and the options: when
    the navigation lines leave no room (a 225-character "more"), options are
    cut to nothing rather than fitted forever, and the pages overflow; the
    linter reports such labels.
    """
    limit -= reserve
    more_len, back_len = gsm7.length(more), gsm7.length(back) if back else 0

    def size(used: int, lines: int, with_more: bool) -> int:
        """Septets of a page of `lines` lines totalling `used`, plus its footer."""
        parts = lines + with_more + bool(back)
        return used + (more_len if with_more else 0) + back_len + max(parts - 1, 0)

    def footer(with_more: bool) -> list[str]:
        return [more if with_more else "", back or ""]

    def rest_fits(used: int, lines: int, first: int, i: int) -> list[str] | None:
        """Options i.. numbered from `first`, when they all fit the page so far
        with no "more" line (a confirm's two answers under a long text)."""
        if len(options) - first > max_options:
            return None
        rest = [f"{k - first + 1}. {options[k]}" for k in range(i, len(options))]
        fits = size(used + sum(map(gsm7.length, rest)), lines + len(rest), False) <= limit
        return rest if fits else None

    pages: list[Page] = []
    current: list[str] = []
    used = 0
    if text:
        text_len = gsm7.length(text)
        if split_text and size(text_len, 1, bool(options)) > limit \
                and not (options and rest_fits(text_len, 1, 0, 0)):
            chunks = split_words(text, max(limit - size(0, 1, True), 10))
            for chunk in chunks[:-1]:
                pages.append(Page(_join([chunk] + footer(True)), 0, 0))
            text = chunks[-1]
        current, used = [text], gsm7.length(text)
    first = 0
    for i, label in enumerate(options):
        following = i < len(options) - 1
        line = f"{i - first + 1}. {label}"
        line_len = gsm7.length(line)
        if (i - first) < max_options and size(used + line_len, len(current) + 1, following) <= limit:
            current.append(line)
            used += line_len
            continue
        rest = rest_fits(used, len(current), first, i) if following else None
        if rest is not None:
            current += rest
            break
        if current:
            pages.append(Page(_join(current + footer(True)), first, i - first))
        first = i
        line = f"1. {label}"
        if size(gsm7.length(line), 1, following) > limit:
            line = _cut(line, limit - size(0, 1, following))
        current, used = [line], gsm7.length(line)
    pages.append(Page(_join(current + footer(False)), first, len(options) - first))
    return pages
