"""Paging: every page fits, options numbered from 1 per page, navigation lines."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus import gsm7
from menus.render import Page, paginate, split_words

MORE, BACK = "98. More", "0. Back"


@pytest.mark.parametrize(("text", "options", "kwargs", "pages"), [
    ("Choose:", ["A", "B", "C"], {},
     [Page("Choose:\n1. A\n2. B\n3. C\n0. Back", 0, 3)]),
    ("Choose:", ["A", "B", "C"], {"back": None},
     [Page("Choose:\n1. A\n2. B\n3. C", 0, 3)]),
    ("Choose:", ["A", "B", "C"], {"max_options": 2},
     [Page("Choose:\n1. A\n2. B\n98. More\n0. Back", 0, 2), Page("1. C\n0. Back", 2, 1)]),
    ("Choose:", ["A", "B", "C", "D", "E"], {"max_options": 2, "back": None},
     [Page("Choose:\n1. A\n2. B\n98. More", 0, 2), Page("1. C\n2. D\n98. More", 2, 2),
      Page("1. E", 4, 1)]),
    ("Thank you.", [], {"back": None}, [Page("Thank you.", 0, 0)]),
    ("", ["A"], {}, [Page("1. A\n0. Back", 0, 1)]),
    # The limit, not max_options, moves option 2 on: with it and "98. More" page 1 is 34 > 33.
    ("Choose:", ["Aaaaa", "Bbbbb", "Ccccc"], {"limit": 33, "back": None},
     [Page("Choose:\n1. Aaaaa\n98. More", 0, 1), Page("1. Bbbbb\n2. Ccccc", 1, 2)]),
    # A reserve (the error line's room) shrinks every page, not only the first.
    ("Choose:", ["Aaaaa", "Bbbbb", "Ccccc"], {"limit": 43, "back": None, "reserve": 10},
     [Page("Choose:\n1. Aaaaa\n98. More", 0, 1), Page("1. Bbbbb\n2. Ccccc", 1, 2)]),
    ("", ["Aaaaa", "Bbbbb", "Ccccc"], {"limit": 33, "back": None, "reserve": 15},
     [Page("1. Aaaaa\n98. More", 0, 1), Page("1. Bbbbb\n2. Ccccc", 1, 2)]),
    # Two answers that fit without a "more" line are not split by one.
    ("x" * 20, ["Yes", "No"], {"limit": 41},
     [Page("x" * 20 + "\n1. Yes\n2. No\n0. Back", 0, 2)]),
])
def test_paginate_table(text, options, kwargs, pages):
    args = {"limit": 160, "more": MORE, "back": BACK, **kwargs}
    assert paginate(text, options, **args) == pages


def test_text_that_fills_the_page_pushes_every_option_to_the_next():
    text = "x" * (160 - len("\n98. More\n0. Back"))
    pages = paginate(text, ["A", "B"], limit=160, more=MORE, back=BACK)
    assert pages == [Page(f"{text}\n98. More\n0. Back", 0, 0), Page("1. A\n2. B\n0. Back", 0, 2)]


def test_long_text_is_split_at_run_time_and_kept_whole_for_the_linter():
    text = " ".join(["word"] * 80)  # 399 characters
    split = paginate(text, ["A"], limit=160, more=MORE, back=BACK)
    assert len(split) == 3
    assert all(gsm7.length(p.text) <= 160 for p in split)
    assert all(p.text.endswith("\n98. More\n0. Back") for p in split[:-1])
    assert split[-1].text.endswith("\n1. A\n0. Back")
    shown = " ".join(p.text.replace("\n98. More", "").replace("\n0. Back", "") for p in split)
    assert shown.replace("\n1. A", "").split() == text.split()

    whole = paginate(text, ["A"], limit=160, more=MORE, back=BACK, split_text=False)
    assert whole[0].text.startswith(text)
    assert gsm7.length(whole[0].text) > 160


def test_an_option_too_long_for_any_page_is_cut():
    pages = paginate("", ["y" * 300, "B", "C"], limit=160, more=MORE, back=BACK)
    # Cut to leave room for "98. More" and "0. Back": 160 - len("\n98. More\n0. Back").
    cut = "1. " + "y" * (160 - 17 - 3)
    assert pages == [Page(f"{cut}\n98. More\n0. Back", 0, 1), Page("1. B\n2. C\n0. Back", 1, 2)]


@pytest.mark.parametrize(("more", "back", "limit", "reserve"), [
    ("98. " + "Voir la suite " * 16, "0. Retour", 160, 0),  # 228 septets: longer than the page
    ("98. Suite", "0. " + "R" * 300, 160, 0),
    ("98. Suite", "0. Retour", 160, 400),                  # an error line longer than the page
    ("98. Suite", "0. Retour", -5, 0),
])
def test_navigation_longer_than_the_page_still_returns(more, back, limit, reserve):
    # It used to loop for ever cutting an option to a negative room (a
    # 225-character French "more"); tests/menus/test_bounded.py counts the steps.
    labels = ["Mais", "Haricots", "Oeufs", "The", "Cafe", "Lait"]
    pages = paginate("Choisissez:", labels, limit=limit, more=more, back=back, reserve=reserve,
                     max_options=2)
    # Options that cannot fit are cut (to nothing) on pages of their own:
    # every option is still on exactly one page, so numbers still map.
    assert [i for p in pages for i in range(p.first, p.first + p.count)] == list(range(len(labels)))
    assert all(p.count <= 2 for p in pages) and len(pages) <= len(labels) + 1


def test_extension_characters_count_twice_when_fitting():
    # "1. €€€€€" costs 13 septets though it has 8 characters.
    pages = paginate("", ["€€€€€", "B", "C"], limit=22, more=MORE, back=None)
    assert pages[0] == Page("1. €€€€€\n98. More", 0, 1)
    plain = paginate("", ["EEEEE", "B", "C"], limit=22, more=MORE, back=None)
    assert plain == [Page("1. EEEEE\n2. B\n3. C", 0, 3)]


def test_split_words_keeps_words_and_respects_room():
    chunks = split_words("aa bb cc dd ee", 5)
    assert chunks == ["aa bb", "cc dd", "ee"]
    assert split_words("one\ntwo three", 20) == ["one\ntwo three"]
    assert split_words("one two\nthree", 9) == ["one two", "three"]
    assert split_words("abcdefghijkl mn", 5) == ["abcde", "mn"]  # a word longer than room is cut
    assert split_words("", 10) == [""]


# -- properties ---------------------------------------------------------------

# "§" marks the navigation lines and never occurs in generated texts or labels.
NAV_MORE, NAV_BACK = "98. Ibindi§", "0. Subira inyuma§"
GSM = sorted((gsm7.BASIC | gsm7.EXTENSION) - {"§", "\r", "\f"})
texts = st.text(alphabet=GSM + [" "] * 10, max_size=500)
labels = st.lists(st.text(alphabet=[c for c in GSM if c != "\n"], min_size=1, max_size=200), max_size=25)


@given(text=texts, options=labels, limit=st.integers(120, 182), with_back=st.booleans(),
       max_options=st.integers(1, 9))
def test_paginate_properties(text, options, limit, with_back, max_options):
    back = NAV_BACK if with_back else None
    pages = paginate(text, options, limit=limit, more=NAV_MORE, back=back,
                     max_options=max_options, split_text=True)
    assert pages
    covered = []
    for number, page in enumerate(pages):
        last = number == len(pages) - 1
        assert gsm7.length(page.text) <= limit
        assert 0 <= page.count <= max_options
        covered += range(page.first, page.first + page.count)

        lines = page.text.split("\n")
        if back:
            assert lines.pop() == NAV_BACK
        if not last:
            assert lines.pop() == NAV_MORE
        assert NAV_MORE not in lines and NAV_BACK not in lines
        # Options are the last lines before the footer, numbered from 1 on each page
        # (a label too long for any page is cut, so compare as a prefix).
        shown = lines[len(lines) - page.count:] if page.count else []
        for k, line in enumerate(shown):
            full = f"{k + 1}. {options[page.first + k]}"
            assert line and full.startswith(line)
            assert line.startswith(f"{k + 1}. ") or len(line) <= len(f"{k + 1}. ")
    assert covered == list(range(len(options)))


@given(text=st.text(alphabet="abcdefgh \n", max_size=400), room=st.integers(10, 60))
def test_split_words_chunks_fit_and_keep_short_words(text, room):
    chunks = split_words(text, room)
    assert all(gsm7.length(c) <= room for c in chunks)
    assert " ".join(chunks).split() == [w[:room] for w in text.split()]
