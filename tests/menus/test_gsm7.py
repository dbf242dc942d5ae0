"""The GSM-7 alphabet: septet length, the first character that does not fit, sanitizing."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus import gsm7


@pytest.mark.parametrize(("text", "septets"), [
    ("", 0),
    ("Hello", 5),
    ("é à è ù ì ò Ç ñ ü ß", 19),
    ("€", 2),
    ("[1]", 5),
    ("{a}|~^\\", 13),
    ("100 €", 6),
    ("line\nline", 9),
])
def test_length_counts_extension_characters_twice(text, septets):
    assert gsm7.length(text) == septets


@pytest.mark.parametrize(("text", "found"), [
    ("Ça va", None),             # capital Ç is in the basic table
    ("Reçu", "ç"),
    ("Fenêtre", "ê"),
    ("l\u2019offre", "\u2019"),   # right single quotation mark
    ("\u201cOui\u201d", "\u201c"),
    ("Murakoze \U0001F600", "\U0001F600"),
    ("18\u00a0000 RWF", "\u00a0"),  # non-breaking space
    ("abc", None),
    ("é [x] €", None),
    ("aîb ô", "î"),
])
def test_first_non_gsm7(text, found):
    assert gsm7.first_non_gsm7(text) == found


def test_describe_names_the_character():
    assert gsm7.describe("ç") == "'ç' (U+00E7 LATIN SMALL LETTER C WITH CEDILLA)"


@pytest.mark.parametrize(("text", "clean"), [
    ("François", "Francois"),
    ("Fenêtre", "Fenetre"),
    ("café", "café"),           # é is GSM-7: kept
    ("Jean-Bosco", "Jean-Bosco"),
    ("Hi \U0001F600", "Hi ?"),
    ("two\nlines\r\tand\ftabs", "two lines  and tabs"),
    ("18\u00a0000", "18 000"),  # the replacement table: a non-breaking space is a space
    ("[a] {b} 5\u20ac", "[a] {b} 5\u20ac"),  # extension characters are GSM-7: kept (two septets)
    ("l\u2019offre", "l'offre"),    # the replacement, not '?'
    ("\u201cOui\u201d \u2013 non\u2026", '"Oui" - non...'),
])
def test_sanitize(text, clean):
    assert gsm7.sanitize(text) == clean


@given(st.text())
def test_sanitize_is_always_gsm7_on_one_line(text):
    clean = gsm7.sanitize(text)
    assert gsm7.first_non_gsm7(clean) is None
    assert "\n" not in clean and "\r" not in clean and "\f" not in clean
    assert gsm7.sanitize(clean) == clean
    # Only the replacement table lengthens a character (… is three).
    assert len(clean) <= 3 * len(text)


@given(st.text(alphabet=sorted(gsm7.BASIC - {"\n", "\r"})))
def test_sanitize_leaves_basic_text_alone(text):
    assert gsm7.sanitize(text) == text


# -- the replacement table ----------------------------------------------------------

@pytest.mark.parametrize(("ch", "new"), [
    ("ê", "e"), ("ç", "c"), ("â", "a"), ("î", "i"), ("ô", "o"), ("û", "u"), ("È", "E"), ("À", "A"),
    ("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u00ab", '"'),
    ("\u2013", "-"), ("\u2014", "-"), ("\u2026", "..."), ("\u00a0", " "), ("\u202f", " "),
    ("\t", " "), ("\u0153", "oe"), ("\u00ad", ""), ("\u0301", ""), ("\uff11", "1"),
    ("\U0001F600", None), ("\u00bd", None),  # an emoji, ½: no GSM-7 spelling
    ("é", None), ("{", None), ("a", None),  # already GSM-7: nothing to replace
])
def test_replacement(ch, new):
    assert gsm7.replacement(ch) == new


@given(st.characters())
def test_every_replacement_is_plain_gsm7(ch):
    new = gsm7.replacement(ch)
    assert new is None or (gsm7.first_non_gsm7(new) is None and gsm7.length(new) == len(new)
                           and "\n" not in new and len(new) <= 3)


@pytest.mark.parametrize(("ch", "advice"), [
    ("ç", "replace it with 'c'"),
    ("\u2019", "replace it with \"'\""),
    ("\u00ad", "remove it"),
    ("\U0001F600", "no GSM-7 replacement: reword"),
])
def test_advice(ch, advice):
    assert gsm7.advice(ch) == advice


@pytest.mark.parametrize(("text", "fixed"), [
    ("Fen\u00eatre d\u2019\u00e9t\u00e9 \u2013 \u00ab oui \u00bb\u2026", "Fenetre d'été - \" oui \"..."),
    ("18\u00a0000 RWF", "18 000 RWF"),
    ("Murakoze \U0001F600", "Murakoze \U0001F600"),  # no replacement: kept for the linter to report
    ("line\nbreak {x} [y] \u20ac", "line\nbreak {x} [y] \u20ac"),  # GSM-7 untouched, line breaks too
])
def test_fix(text, fixed):
    assert gsm7.fix(text) == fixed


@given(st.text())
def test_fix_only_replaces_characters(text):
    fixed = gsm7.fix(text)
    assert gsm7.fix(fixed) == fixed
    assert gsm7.outside(fixed) == [ch for ch in gsm7.outside(text) if gsm7.replacement(ch) is None]
    # Character by character, in order: GSM-7 ones kept, others replaced or kept.
    assert fixed == "".join(ch if gsm7.is_gsm7(ch) or gsm7.replacement(ch) is None
                            else gsm7.replacement(ch) for ch in text)


@pytest.mark.parametrize(("text", "septets", "kept"), [
    ("abcdef", 3, "abc"),
    ("ab\u20acc", 3, "ab"),      # the euro sign costs two: never half kept
    ("ab\u20acc", 4, "ab\u20ac"),
    ("abc", 10, "abc"),
    ("abc", 0, ""),
    ("abc", -225, ""),           # no room at all: nothing, at once
])
def test_cut(text, septets, kept):
    assert gsm7.cut(text, septets) == kept


@given(st.text(alphabet=sorted(gsm7.BASIC | gsm7.EXTENSION)), st.integers(-300, 300))
def test_cut_is_the_longest_start_that_fits(text, septets):
    kept = gsm7.cut(text, septets)
    assert text.startswith(kept) and gsm7.length(kept) <= max(septets, 0)
    assert kept == text or gsm7.length(text[: len(kept) + 1]) > septets
