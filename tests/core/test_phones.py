"""Phone normalisation (the only way a number gets in) and masking (the only
way one gets into a log)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.phones import InvalidPhone, mask, normalize


@pytest.mark.parametrize(
    "raw",
    [
        "+250788000001",
        "0788000001",
        "788000001",
        "250788000001",
        "00250788000001",
        "+250 78 800 0001",
        " 078-800-0001 ",
        "(078) 800 0001",
    ],
)
def test_rwandan_forms_normalise_to_e164(raw):
    assert normalize(raw) == "+250788000001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0721234567", "+250721234567"),  # Airtel
        ("0731234567", "+250731234567"),  # Airtel
        ("0791234567", "+250791234567"),  # MTN
    ],
)
def test_all_rwandan_mobile_prefixes(raw, expected):
    assert normalize(raw) == expected


def test_foreign_numbers_keep_their_country():
    assert normalize("+1 650 253 0000") == "+16502530000"
    assert normalize("(650) 253-0000", region="US") == "+16502530000"
    assert normalize("0712 345678", region="KE") == "+254712345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "0788",  # too short
        "07880000011",  # one digit too many
        "+250788000001234567",
        "1" * 100,
        "+999 123 456",  # no such country code
        "+250788000001 ext 12",  # an SMS cannot reach an extension
        "*384*7#",
    ],
)
def test_invalid_numbers_raise_invalid_phone(raw):
    with pytest.raises(InvalidPhone):
        normalize(raw)


def test_invalid_phone_is_a_value_error():
    with pytest.raises(ValueError):
        normalize("nope")


def test_non_string_and_bad_region_raise_invalid_phone():
    with pytest.raises(InvalidPhone):
        normalize(788000001)  # type: ignore[arg-type]
    with pytest.raises(InvalidPhone):
        normalize(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidPhone):
        normalize("0788000001", region="XX")


@settings(deadline=None)  # phonenumbers loads region metadata lazily
@given(st.text(max_size=80))
def test_any_text_normalises_or_raises_invalid_phone(raw):
    try:
        result = normalize(raw)
    except InvalidPhone:
        return
    assert result.startswith("+") and result[1:].isdigit()
    assert normalize(result) == result


@settings(deadline=None)  # phonenumbers loads region metadata lazily
@given(st.from_regex(r"\A[+0]?[0-9 ()\-]{0,20}\Z"))
def test_phone_like_text_normalises_or_raises_invalid_phone(raw):
    try:
        result = normalize(raw)
    except InvalidPhone:
        return
    assert normalize(result) == result


def test_mask_keeps_country_code_two_digits_and_last_two():
    assert mask("+250788000001") == "+25078*****01"
    assert mask("+16502530000") == "+165******00"
    assert mask("+254712345678") == "+25471*****78"


def test_mask_hides_short_or_odd_values_entirely():
    assert mask("") == ""
    assert mask("+2507") == "*****"
    assert mask("12345678") == "********"
    assert mask(None) == "****"  # type: ignore[arg-type]


@settings(deadline=None)  # phonenumbers loads region metadata lazily
@given(st.text(max_size=40))
def test_mask_never_raises_and_keeps_length(value):
    masked = mask(value)
    assert len(masked) == len(value)
    # At most 6 leading and 2 trailing characters are ever shown.
    assert masked.count("*") >= len(value) - 8


@settings(deadline=None)  # phonenumbers loads region metadata lazily
@given(st.integers(min_value=0, max_value=9_999_999))
def test_mask_hides_the_subscriber_digits(subscriber):
    number = normalize(f"078{subscriber:07d}")
    masked = mask(number)
    assert masked == number[:6] + "*" * (len(number) - 8) + number[-2:]


# --- only ASCII digits and a leading + make a number ----------------------------------------

@pytest.mark.parametrize(
    "raw",
    [
        "0788 CALL ME",  # a vanity number: the parser reads letters as keypad digits
        "078800CALL",
        "+250 788 ABC 001",
        "٠٧٨٨٠٠٠٠٠١",  # Arabic-Indic digits
        "+٢٥٠٧٨٨٠٠٠٠٠١",
        "۰۷۸۸۰۰۰۰۰۱",  # Extended Arabic-Indic (Persian) digits
        "０７８８０００００１",  # full-width digits
        "078800000１",  # one full-width digit among ASCII ones
        "+250788000001\x00",
        "++250788000001",
        "250+788000001",
        "+250788000001 ext 12",
    ],
)
def test_letters_and_non_ascii_digits_are_never_a_number(raw):
    with pytest.raises(InvalidPhone):
        normalize(raw)


@settings(deadline=None)
@given(st.text(max_size=40))
def test_a_normalised_number_came_from_ascii_digits_and_separators(raw):
    try:
        normalize(raw)
    except InvalidPhone:
        return
    stripped = raw.strip()
    assert stripped.isascii()
    assert all(ch.isdigit() or ch in " .()-" for ch in stripped.removeprefix("+"))


def test_provider_numbers_may_lack_the_plus():
    from gateway.core.phones import normalize_provider

    assert normalize_provider("254711000001") == "+254711000001"  # Kenya, as some reports write it
    assert normalize_provider("16502530000") == "+16502530000"
    assert normalize_provider("+254711000001") == "+254711000001"
    assert normalize_provider("250788000001") == "+250788000001"
    assert normalize_provider("0788000001") == "+250788000001"
    for raw in ("0788 CALL ME", "٠٧٨٨٠٠٠٠٠١", "0999999999", "12", "", "x" * 100):
        with pytest.raises(InvalidPhone):
            normalize_provider(raw)
