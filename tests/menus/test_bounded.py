"""Nothing in `menus/` can hang: `paginate` and `lint` return on any input.

A French "more" of 225 characters once made `paginate` loop for ever (an
option cut to fit a negative room). These properties feed both functions
random texts, labels, limits and placeholder lengths, far outside what a sane
menu holds, and count the Python lines `menus/` runs: the count must stay
within a bound linear in the input's size, so a loop that does not end, or
one that grows faster than its input, fails at once instead of hanging CI.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import menus
from menus import gsm7
from menus.lint import Capabilities, lint
from menus.model import REQUIRED_STRINGS
from menus.render import paginate

MENUS = str(Path(menus.__file__).parent)


class TooManySteps(Exception):
    pass


def run_bounded(bound: int, fn, *args, **kwargs):
    """Call `fn`, counting the lines executed in `menus/`; raise
    TooManySteps past `bound` (from inside the loop that runs away)."""
    steps = 0

    def local(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > bound:
                raise TooManySteps(f"more than {bound} steps in {frame.f_code.co_name}")
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(MENUS) else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        return fn(*args, **kwargs), steps
    finally:
        sys.settrace(previous)


def test_the_step_counter_stops_a_loop_that_never_ends():
    # The bug this file guards against, in miniature: without the bound this never returns.
    def forever(line: str, room: int) -> str:
        while gsm7.length(line) > room:
            line = line[:-1]
        return line
    forever.__code__ = forever.__code__.replace(co_filename=f"{MENUS}/fake.py")
    try:
        run_bounded(1000, forever, "abc", -1)
    except TooManySteps:
        return
    raise AssertionError("the step counter did not stop the loop")


# Any GSM-7 character but "\r" and "\f", and spaces often; labels on one line.
GSM = sorted((gsm7.BASIC | gsm7.EXTENSION) - {"\r", "\f"})
TEXT = st.text(alphabet=GSM + [" "] * 8, max_size=400)
LINE = st.text(alphabet=[c for c in GSM if c != "\n"] + [" "] * 4, max_size=300)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(text=TEXT, options=st.lists(LINE, max_size=30), limit=st.integers(-20, 400),
       more=LINE, back=st.none() | LINE, max_options=st.integers(1, 9),
       split_text=st.booleans(), reserve=st.integers(0, 400))
def test_paginate_always_returns(text, options, limit, more, back, max_options, split_text, reserve):
    size = len(text) + sum(map(len, options)) + len(more) + len(back or "") + len(options)
    pages, _ = run_bounded(2_000 + 20 * size, paginate, text, options, limit=limit, more=more,
                           back=back, max_options=max_options, split_text=split_text,
                           reserve=reserve)
    # Every option is on exactly one page, in order, whatever did not fit.
    covered = [i for page in pages for i in range(page.first, page.first + page.count)]
    assert covered == list(range(len(options)))


def _definition(data) -> dict:
    """A small menu whose every text, label and limit is drawn: a menu with
    options, a list, an input, a confirm and two ends, in one or two languages."""
    langs = data.draw(st.lists(st.sampled_from(["rw", "en", "fr"]), min_size=1, max_size=2,
                               unique=True), label="languages")

    def text():
        return {lang: data.draw(LINE, label="text") + " {p}" for lang in langs}

    strings = {key: {lang: data.draw(LINE, label=key) or "x" for lang in langs}
               for key in REQUIRED_STRINGS}
    options = [{"label": text(), "next": data.draw(st.sampled_from(["pick", "qty", "bye"]))}
               for _ in range(data.draw(st.integers(1, 12), label="options"))]
    return {
        "name": "drawn", "languages": langs, "start": "main", "home": "main",
        "limit": data.draw(st.integers(60, 182), label="limit"),
        "max_options": data.draw(st.integers(1, 9), label="max_options"),
        "placeholders": {"p": data.draw(st.integers(1, 600), label="placeholder max")},
        "strings": strings,
        "screens": {
            "main": {"type": "menu", "back": data.draw(st.booleans()), "text": text(),
                     "options": options + [{"label": text(), "next": "bye"}]},
            "pick": {"type": "list", "source": "products", "text": text(), "next": "sure",
                     "empty": "bye"},
            "qty": {"type": "input", "field": "q", "text": text(), "next": "sure",
                    "validate": {"type": "integer", "min": 1}},
            "sure": {"type": "confirm", "text": text(), "next": "bye", "cancel": "main"},
            "bye": {"type": "end", "text": text()},
        },
    }


@SETTINGS
@given(data=st.data(), width=st.integers(1, 400))
def test_lint_always_returns_and_names_an_overlong_more(data, width):
    definition = _definition(data)
    caps = Capabilities(sources={"products": width})
    size = len(repr(definition)) + width * definition["max_options"]
    problems, _ = run_bounded(20_000 + 40 * size, lint, definition, caps)
    for lang in definition["languages"]:
        more = definition["strings"]["more"][lang]
        if len(f"98. {more}") > definition["limit"]:
            assert any(p.language == lang and p.message.startswith("string more: navigation label too long")
                       for p in problems), [str(p) for p in problems]
