"""Every rw/fr term of the menu, the SMS texts and the catalogue is in the
glossary a native speaker reviews (menus/definitions/GLOSSARY.md).

What a "term" is, the same definition as at the top of GLOSSARY.md:
1. every option label of the shipped menu;
2. every screen title: a screen text's first line that ends with ":" and has
   no placeholder ("Your listings:");
3. every menu string of three words or fewer, without a "." or a placeholder
   (Yes, Back, More);
4. every unit label in gateway/data/sms.yaml;
5. every product and grade name in gateway/data/catalogue.yaml;
6. every keyword the SMS texts ask a reader to send (a word in capitals).
A term is in the glossary when it appears there verbatim.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import menus
from gateway.market.seed import load_catalogue
from gateway.sms import texts as smstexts

DEFINITIONS = Path(menus.__file__).parent / "definitions"
LANGS = ("rw", "fr")


def _menu() -> dict:
    return yaml.safe_load((DEFINITIONS / "marketplace.yaml").read_text(encoding="utf-8"))


def terms() -> set[tuple[str, str, str]]:
    """(language, term, where) for every term, by the definition above."""
    found = set()
    menu = _menu()
    for sid, screen in menu["screens"].items():
        for option in screen.get("options") or []:
            label = option["label"]
            for lang in LANGS:
                found.add((lang, label if isinstance(label, str) else label[lang], f"{sid} option"))
        text = screen.get("text")
        if isinstance(text, dict):
            for lang in LANGS:
                if lang in text:
                    first = text[lang].split("\n")[0]
                    if first.endswith(":") and "{" not in first:
                        found.add((lang, first, f"{sid} title"))
    for key, text in menu["strings"].items():
        for lang in LANGS:
            if len(text[lang].split()) <= 3 and not re.search(r"[.{]", text[lang]):
                found.add((lang, text[lang], f"string {key}"))
    sms = yaml.safe_load(smstexts.shipped_source())
    for unit, labels in sms["units"].items():
        for lang in LANGS:
            found.add((lang, labels[lang], f"unit {unit}"))
    for kind, texts in sms["templates"].items():
        for lang in LANGS:
            for word in re.findall(r"\b[A-ZÉ]{4,}\b", texts[lang]):
                found.add((lang, word, f"sms {kind} keyword"))
    for product in load_catalogue():
        for named in [product, *product["grades"]]:
            for lang in LANGS:
                found.add((lang, named[f"name_{lang}"], f"catalogue {product['code']}"))
    return found


def test_the_definition_finds_the_terms_it_should():
    found = {(lang, term) for lang, term, _ in terms()}
    assert {("rw", "Ahabanza"), ("fr", "Menu principal"), ("rw", "Ibyo ucuruza:"),
            ("fr", "Retour"), ("rw", "igice"), ("fr", "pce"), ("fr", "Café cerise"),
            ("rw", "TANGIRA"), ("fr", "ARRET"), ("rw", "Icyiciro A")} <= found


@pytest.mark.parametrize("lang, term, where", sorted(terms()))
def test_every_term_is_in_the_glossary(lang, term, where):
    glossary = (DEFINITIONS / "GLOSSARY.md").read_text(encoding="utf-8")
    assert term in glossary, f"{lang} term {term!r} ({where}) is missing from GLOSSARY.md"
