"""Input validators: lenient keypad integers, text, regex, choice, and `build`."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from menus.validators import ERROR_KEYS, KINDS, build, parse_integer

INTEGER = build({"type": "integer"})


@pytest.mark.parametrize(("raw", "expected"), [
    ("50", 50),
    ("0", 0),
    ("50kg", 50),
    ("50 kg", 50),
    ("50KG", 50),
    ("  50  ", 50),
    ("1,000", 1000),
    ("1 000", 1000),
    ("1.000", 1000),
    ("1\u00a0000", 1000),
    ("1000 ibiro", 1000),
    ("1,000,000", 1_000_000),
    ("12 345 678", 12_345_678),
    ("007", 7),
])
def test_integer_accepts_what_a_keypad_user_types(raw, expected):
    assert INTEGER(raw) == (expected, None)
    assert parse_integer(raw) == expected


@pytest.mark.parametrize("raw", ["2.5", "1,5", "0.5", "12.50", "1,50 kg", "2.5kg"])
def test_integer_refuses_decimals_with_their_own_error(raw):
    assert INTEGER(raw) == (None, "err_decimal")


@pytest.mark.parametrize("raw", [
    "abc", "", "   ", "5 0 0 0", "-5", "+5", "1,00,0", "10,00000", "1 0", "kg", "50 kg kg",
    "1_000", "50 kilograms!", "50 abcdefghijk",
])
def test_integer_refuses_what_is_not_a_number(raw):
    assert INTEGER(raw) == (None, "err_number")
    assert parse_integer(raw) is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("50", (50, None)),
    ("50kg", (50, None)),
    ("50 KG", (50, None)),
    ("50 ibiro", (50, None)),
    ("50 pcs", (None, "err_number")),
    ("50 rwf", (None, "err_number")),
    ("5O", (None, "err_number")),
])
def test_units_restrict_the_suffix(raw, expected):
    validator = build({"type": "integer", "units": ["kg", "IBIRO"]})
    assert validator(raw) == expected


def test_without_units_any_short_suffix_is_accepted():
    assert parse_integer("50 pcs") == 50
    assert parse_integer("50 pcs", ("kg",)) is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("0", (None, "err_too_small")),
    ("1", (1, None)),
    ("1,000", (1000, None)),
    ("1,001", (None, "err_too_big")),
    ("2.5", (None, "err_decimal")),
])
def test_integer_bounds(raw, expected):
    assert build({"type": "integer", "min": 1, "max": 1000})(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Alice", ("Alice", None)),
    ("  Jean   Bosco  ", ("Jean Bosco", None)),
    ("A", (None, "err_too_short")),
    ("   ", (None, "err_too_short")),
    ("x" * 30, ("x" * 30, None)),
    ("x" * 31, (None, "err_too_long")),
])
def test_text_collapses_spaces_and_checks_length(raw, expected):
    assert build({"type": "text", "min": 2, "max": 30})(raw) == expected


def test_text_without_min_still_refuses_empty():
    assert build({"type": "text"})("") == (None, "err_too_short")
    assert build({"type": "text"})("a") == ("a", None)


@pytest.mark.parametrize(("raw", "expected"), [
    ("AB1234", ("AB1234", None)),
    (" AB1234 ", ("AB1234", None)),
    ("AB12345", (None, "err_format")),
    ("ab1234", (None, "err_format")),
    ("XAB1234", (None, "err_format")),
])
def test_regex_must_match_the_whole_input(raw, expected):
    assert build({"type": "regex", "pattern": "[A-Z]{2}[0-9]{4}"})(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Yes", ("Yes", None)),
    ("yes", ("Yes", None)),
    (" YEGO ", ("Yego", None)),
    ("y", (None, "err_choice")),
    ("", (None, "err_choice")),
])
def test_choice_answers_the_declared_spelling(raw, expected):
    assert build({"type": "choice", "choices": ["Yes", "Yego"]})(raw) == expected


@pytest.mark.parametrize(("spec", "reason"), [
    ({}, "unknown validator type None"),
    ({"type": "number"}, "unknown validator type 'number'"),
    ({"type": "regex", "pattern": "[0-9"}, "regex does not compile"),
    ({"type": "regex", "pattern": "(a"}, "regex does not compile"),
    ({"type": "integer", "min": 10, "max": 1}, "min is greater than max"),
    ({"type": "integer", "min": "1"}, "min must be an integer"),
    ({"type": "integer", "max": 2.5}, "max must be an integer"),
    ({"type": "integer", "max": True}, "max must be an integer"),
    ({"type": "choice"}, "choice validator needs choices"),
])
def test_build_refuses_malformed_specs(spec, reason):
    with pytest.raises(ValueError, match=reason):
        build(spec)


def test_min_equal_to_max_is_allowed():
    assert build({"type": "integer", "min": 5, "max": 5})("5") == (5, None)


def test_every_error_a_validator_returns_is_declared_in_error_keys():
    cases = {
        "integer": (build({"type": "integer", "min": 2, "max": 3}), ["2.5", "x", "1", "4"]),
        "text": (build({"type": "text", "min": 2, "max": 3}), ["a", "abcd"]),
        "regex": (build({"type": "regex", "pattern": "a"}), ["b"]),
        "choice": (build({"type": "choice", "choices": ["a"]}), ["b"]),
    }
    assert set(cases) == KINDS
    for kind, (validator, inputs) in cases.items():
        assert {validator(raw)[1] for raw in inputs} == set(ERROR_KEYS[kind])


@given(st.integers(min_value=0, max_value=10**9))
def test_formatted_integers_parse_back(n):
    for raw in (f"{n:,}", f"{n:,}".replace(",", " "), f"{n}kg", f"{n:,}".replace(",", ".")):
        assert parse_integer(raw) == n
        assert INTEGER(raw) == (n, None)


# -- typed text: GSM-7 spellings, names that are only digits ----------------------

NAME = build({"type": "text", "min": 2, "max": 60, "not_digits_only": True})


@pytest.mark.parametrize(("raw", "result"), [
    ("Nyiraneza Marie Goretti Uwimana", ("Nyiraneza Marie Goretti Uwimana", None)),
    ("Mukamana Jeanne d\u2019Arc Uwineza Nyirahabimana Claudine", (
        "Mukamana Jeanne d'Arc Uwineza Nyirahabimana Claudine", None)),  # ’ kept as '
    ("A" * 60, ("A" * 60, None)),
    ("A" * 61, (None, "err_too_long")),
    ("00", (None, "err_digits_only")),   # the home key, not a name
    ("98", (None, "err_digits_only")),   # the more key
    (" 0 7 8 ", (None, "err_digits_only")),
    ("0", (None, "err_too_short")),
    ("Ana 2", ("Ana 2", None)),
    ("{Ana}", ("{Ana}", None)),          # braces are GSM-7: kept
    ("Fran\u00e7oise\u00a0Ingabire", ("Francoise Ingabire", None)),
])
def test_a_name_validator(raw, result):
    assert NAME(raw) == result


def test_digits_only_names_are_accepted_unless_refused():
    assert build({"type": "text"})("98") == ("98", None)
    assert build({"type": "text"}).error_keys == ERROR_KEYS["text"]
    assert NAME.error_keys == ERROR_KEYS["text"] + ("err_digits_only",)
    assert {NAME(raw)[1] for raw in ("a", "a" * 61, "00")} == set(NAME.error_keys)


@pytest.mark.parametrize(("spec", "reason"), [
    ({"type": "text", "not_digits_only": "yes"}, "not_digits_only must be true or false"),
    ({"type": "integer", "not_digits_only": True}, "not_digits_only applies to text validators only"),
])
def test_not_digits_only_is_checked(spec, reason):
    with pytest.raises(ValueError, match=reason):
        build(spec)
