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
    ("18\u00a0000", "18 000"),  # NFKD turns a non-breaking space into a space
    ("[a]", "?a?"),              # extension characters would cost two septets
    ("l\u2019offre", "l?offre"),
])
def test_sanitize(text, clean):
    assert gsm7.sanitize(text) == clean


@given(st.text())
def test_sanitize_is_always_gsm7_on_one_line(text):
    clean = gsm7.sanitize(text)
    assert gsm7.first_non_gsm7(clean) is None
    assert "\n" not in clean and "\r" not in clean
    assert gsm7.length(clean) == len(clean)


@given(st.text(alphabet=sorted(gsm7.BASIC - {"\n", "\r"})))
def test_sanitize_leaves_basic_text_alone(text):
    assert gsm7.sanitize(text) == text
