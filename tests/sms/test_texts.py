"""The SMS texts' linter, `gateway sms lint` and `gateway sms outbox`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import smsutil  # test-only oracle: an independent SMS splitter (pyproject, test extras)
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.sms import texts as smstexts
from menus import gsm7
from gateway.core.models import Language
from gateway.sms.models import Message, MessageStatus

GATEWAY = Path(sys.executable).parent / "gateway"
SETTINGS_VARIABLES = ("DATABASE_URL", "REDIS_URL", "AT_USERNAME", "AT_API_KEY", "AT_API_URL")


def data(**templates) -> dict:
    return {"units": {"kg": {"rw": "kg", "en": "kg", "fr": "kg"}}, "templates": templates}


def ok(text: str = "Isoko: listing {code} saved.") -> dict:
    return {"rw": text, "en": text, "fr": text}


def found(problems, level: str, kind: str, lang: str, words: str) -> bool:
    return any(p.level == level and p.kind == kind and p.lang == lang and words in p.message
               for p in problems)


def test_the_shipped_texts_are_clean():
    problems = smstexts.lint(yaml.safe_load(smstexts.shipped_source()))
    assert smstexts.errors(problems) == [], problems
    kinds = yaml.safe_load(smstexts.shipped_source())["templates"]
    for kind in ("listing_receipt", "order_new", "order_accepted", "order_rejected", "order_cancelled",
                 "order_expired_seller", "order_expired_buyer", "sms_stop", "sms_help", "sms_start"):
        assert kind in kinds


def test_every_language_is_required():
    problems = smstexts.lint(data(receipt={"rw": "a", "en": "b"}))
    assert found(problems, "error", "receipt", "fr", "missing")
    assert len(smstexts.errors(problems)) == 1


def test_only_gsm7_characters():
    problems = smstexts.lint(data(receipt={**ok(), "fr": "Isoko: reçu {code}"}))
    assert found(problems, "error", "receipt", "fr", "outside GSM-7: 'ç' (U+00E7")
    # é is in GSM-7: fine.
    assert smstexts.lint(data(receipt=ok("Isoko: annonce enregistrée {code}"))) == []


@pytest.mark.parametrize("text, words", [
    ("Isoko: {0}", "bad placeholder {0}"),
    ("Isoko: {code.real}", "bad placeholder {code.real}"),
    ("Isoko: {code[0]}", "bad placeholder {code[0]}"),
    ("Isoko: {code:>8}", "format spec"),
    ("Isoko: {code!r}", "format spec"),
    ("Isoko: {code", "malformed placeholder"),
    ("Isoko: code}", "malformed placeholder"),
])
def test_placeholders_are_plain_names(text, words):
    problems = smstexts.lint(data(receipt={**ok(), "en": text}))
    assert found(problems, "error", "receipt", "en", words), problems


def test_literal_braces_are_fine():
    assert smstexts.lint(data(receipt=ok("Isoko: {{code}} is {code}"))) == []


def test_size_is_checked_at_the_worst_case_of_every_placeholder():
    # 100 characters of text + a product (43 at worst) = 143: one segment.
    assert smstexts.lint(data(receipt=ok("x" * 100 + "{product}"))) == []
    # 140 + 43 = 183: two segments, still fine; 280 + 43 = 323: three, a warning.
    assert smstexts.lint(data(receipt=ok("x" * 140 + "{product}"))) == []
    problems = smstexts.lint(data(receipt=ok("x" * 280 + "{product}")))
    assert found(problems, "warning", "receipt", "en", "3 segments at worst (323 characters)")
    assert smstexts.errors(problems) == []
    problems = smstexts.lint(data(receipt=ok("x" * 440 + "{product}")))
    assert found(problems, "error", "receipt", "rw", "4 segments at worst")


def test_unknown_placeholders_and_differences_between_languages_are_warnings():
    problems = smstexts.lint(data(receipt={**ok("Isoko: {code} {mystery}"), "fr": "Isoko: {code}"}))
    assert found(problems, "warning", "receipt", "en", "no known width for {mystery}")
    assert found(problems, "warning", "receipt", "fr", "does not use {mystery}")
    assert smstexts.errors(problems) == []


def test_units_are_checked_and_bad_shapes_reported():
    problems = smstexts.lint({"units": {"kg": {"rw": "kg", "en": "kg"}}, "templates": {"a": "text"}})
    assert found(problems, "error", "unit kg", "fr", "missing")
    assert found(problems, "error", "a", "", "must map languages")
    assert smstexts.errors(smstexts.lint(["not", "a", "mapping"]))
    assert smstexts.errors(smstexts.lint({"templates": {}}))


def test_each_character_outside_gsm7_is_named_with_its_replacement():
    problems = smstexts.lint(data(receipt={**ok(), "fr": "Isoko: l\u2019annonce {code} \u2013 re\u00e7ue \U0001F600"}))
    assert found(problems, "error", "receipt", "fr",
                 "'\u2019' (U+2019 RIGHT SINGLE QUOTATION MARK): replace it with \"'\"; "
                 "'\u2013' (U+2013 EN DASH): replace it with '-'; "
                 "'\u00e7' (U+00E7 LATIN SMALL LETTER C WITH CEDILLA): replace it with 'c'; "
                 "'\U0001F600' (U+1F600 GRINNING FACE): no GSM-7 replacement: reword")


@pytest.mark.parametrize(("text", "parts"), [
    ("", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("a" * 152 + "\u20ac" + "a" * 152, 3),  # the escape pair is not split across parts 1 and 2
    ("a" * 151 + "\u20ac" + "a" * 153, 2),  # it ends part 1 exactly
    ("\u20ac" * 80, 1),
    ("\u20ac" * 81, 2),
    ("\u00e7" * 70, 1),                       # UCS-2
    ("\u00e7" * 71, 2),
    ("\u00e7" * 134, 2),
    ("\u00e7" * 135, 3),
    ("\u00e7" * 66 + "\U0001F600" + "\u00e7" * 66, 3),  # the surrogate pair is not split
    ("\u00e7" * 65 + "\U0001F600" + "\u00e7" * 67, 2),
    ("\U0001F600" * 35, 1),
    ("\U0001F600" * 36, 2),
    ("\U0001F600" * 67, 3),                  # 134 units, but 33 emoji a part (66 of 67 units)
])
def test_segments_never_split_a_character(text, parts):
    assert smstexts.segments(text) == parts


def oracle(text: str) -> int:
    """Parts by smsutil, which splits by walking characters (GSM 03.38,
    escape pairs and surrogate pairs kept whole). Its alphabet also holds
    ESC, which ours (and the strategies below) leave out."""
    return len(smsutil.split(text).parts) if text else 1


GSM7_TEXT = st.text(alphabet=sorted(gsm7.BASIC | gsm7.EXTENSION), max_size=700)
# Mostly GSM-7 with extension characters, so parts end on escape pairs often.
EXTENDED = st.text(alphabet=st.sampled_from(sorted(gsm7.EXTENSION) + ["a", "b", " "]), max_size=700)
UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400)
EMOJI = st.text(alphabet=st.sampled_from(["\U0001F600", "\U0001F33D", "\u00e7", "a", "\u20ac"]),
                min_size=1, max_size=400)


@settings(max_examples=300, deadline=None)
@given(st.one_of(GSM7_TEXT, EXTENDED, UNICODE, EMOJI))
def test_segments_agree_with_an_independent_splitter(text):
    assert smstexts.segments(text) == oracle(text)


def test_segments_use_the_menus_alphabet():
    assert smstexts.segments("a" * 160) == 1 and smstexts.segments("a" * 161) == 2
    assert smstexts.segments("€" * 80) == 1 and smstexts.segments("€" * 81) == 2
    assert smstexts.is_gsm7("Ça coûte 5 €") is False  # û is not GSM-7


# --- the commands ----------------------------------------------------------------------------------


def gateway(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(PYTHONIOENCODING="utf-8", **variables)
    return subprocess.run([str(GATEWAY), *args], env=env, cwd=cwd, capture_output=True,
                          encoding="utf-8", timeout=60, check=False)


def test_sms_lint_exit_codes(tmp_path):
    shipped = gateway("sms", "lint", cwd=tmp_path)
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "0 error(s)" in shipped.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data(receipt={"rw": "Isoko: {code", "en": "Isoko: ok"})), encoding="utf-8")
    result = gateway("sms", "lint", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "error: receipt [rw]: malformed placeholder" in result.stdout
    assert "error: receipt [fr]: missing" in result.stdout
    assert "2 error(s)" in result.stdout

    warned = tmp_path / "warned.yaml"
    warned.write_text(yaml.safe_dump(data(receipt=ok("x" * 280 + "{product}"))), encoding="utf-8")
    result = gateway("sms", "lint", str(warned), cwd=tmp_path)
    assert result.returncode == 0 and "warning: receipt [en]: 3 segments" in result.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text("templates: [unclosed", encoding="utf-8")
    assert gateway("sms", "lint", str(broken), cwd=tmp_path).returncode == 1
    assert gateway("sms", "lint", str(tmp_path / "missing.yaml"), cwd=tmp_path).returncode != 0


def test_sms_outbox_lists_recent_messages_with_masked_numbers(tmp_path):
    from gateway.core.db import Database

    url = f"sqlite:///{tmp_path / 'isoko.db'}"
    db = Database(url)
    db.upgrade()
    with db.session() as s:
        for i, phone in enumerate(["+250788000001", "+250788000002", "+250788000001"]):
            s.add(Message(recipient=phone, text=f"Isoko: message {i}", language=Language.EN,
                          kind="listing_receipt", status=MessageStatus.SENT, attempts=1, segments=1))
    db.dispose()
    result = gateway("sms", "outbox", "--phone", "0788000001", "--limit", "5", cwd=tmp_path,
                     DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[-1] for line in lines] == ["2", "0"]  # newest first, that number only
    assert "+25078*****01" in result.stdout and "+250788000001" not in result.stdout
