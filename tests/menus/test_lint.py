"""The linter, against golden definitions that each carry one kind of problem."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import menus
from menus import gsm7, texts
from menus.lint import Capabilities, errors, lint
from menus.loader import MenuCache, load
from menus.model import REQUIRED_STRINGS, DefinitionError, compile_menu
from tests.menus.test_engine import CAPS

GOLDEN = Path(__file__).parent / "golden"
MARKETPLACE = Path(menus.__file__).parent / "definitions" / "marketplace.yaml"
GOLDEN_CAPS = Capabilities(actions={"save": {"ok"}}, sources={"products": 20})
MARKETPLACE_CAPS = CAPS  # the shipped menu's capabilities, kept in one place (test_engine)


def definition(name: str) -> dict:
    return yaml.safe_load((GOLDEN / f"{name}.yaml").read_text(encoding="utf-8"))


def test_valid_golden_lints_clean_and_loads():
    assert lint(definition("valid"), GOLDEN_CAPS) == []
    assert lint(definition("valid")) == []
    menu = load(definition("valid"), 7, GOLDEN_CAPS)
    assert (menu.name, menu.version, menu.languages, menu.start) == ("golden", 7, ("en", "fr"), "main")


# (file, screen, language, page, substring of the message): the one problem each file has.
GOLDEN_CASES = [
    ("dangling_next", "main", None, None, "unknown next screen 'help'"),
    ("unreachable", "orphan", None, None, "unreachable screen"),
    ("no_end", "loop_a", None, None, "no end screen is reachable from here"),
    ("no_end", "loop_b", None, None, "no end screen is reachable from here"),
    ("missing_translation", "qty", "fr", None, "text: missing translation"),
    ("long_french", "qty", "fr", 1, "over the limit of 160"),
    ("non_gsm", "bye", "fr", None,
     "character outside GSM-7: 'ç' (U+00E7 LATIN SMALL LETTER C WITH CEDILLA)"),
    ("bad_regex", "qty", None, None, "validate: regex does not compile"),
    ("unknown_action", "save", None, None, "unknown action 'sav'"),
    ("undeclared_placeholder", "done", "en", None, "placeholder {ref} has no declared length"),
    ("overlong_worst_case", "done", "en", 1, "over the limit of 160"),
    ("overlong_worst_case", "done", "fr", 1, "over the limit of 160"),
    ("long_more", None, "fr", None, "string more: navigation label too long: '98. Voir la suite"),
]


@pytest.mark.parametrize(("name", "screen", "language", "page", "message"), GOLDEN_CASES)
def test_golden_problem_is_found_and_located(name, screen, language, page, message):
    found = lint(definition(name), GOLDEN_CAPS)
    assert any((p.severity, p.screen, p.language, p.page) == ("error", screen, language, page)
               and message in p.message for p in found), [str(p) for p in found]


@pytest.mark.parametrize("name", sorted({case[0] for case in GOLDEN_CASES}))
def test_each_golden_file_has_exactly_its_problems(name):
    expected = {(s, lang, pg) for n, s, lang, pg, _ in GOLDEN_CASES if n == name}
    found = lint(definition(name), GOLDEN_CAPS)
    assert {(p.screen, p.language, p.page) for p in found} == expected
    assert all(p.severity == "error" for p in found)
    with pytest.raises(DefinitionError) as raised:
        load(definition(name), 1, GOLDEN_CAPS)
    assert raised.value.problems == found


def test_golden_files_are_complete():
    on_disk = {p.stem for p in GOLDEN.glob("*.yaml")}
    assert on_disk == {case[0] for case in GOLDEN_CASES} | {"valid"}


def test_long_french_is_a_200_character_text():
    text = definition("long_french")["screens"]["qty"]["text"]["fr"]
    assert len(text) == 200 and gsm7.first_non_gsm7(text) is None


def test_overlong_worst_case_fits_with_short_values():
    menu, problems = compile_menu(definition("overlong_worst_case"))
    assert menu is not None and problems == []
    template = menu.screens["done"].text["fr"]
    short = texts.fill(template, {"code": "K7Q2XA", "note": "Merci."}, menu.placeholders)
    assert short == "Enregistre: K7Q2XA. Merci."
    assert gsm7.length(short) <= menu.limit
    assert gsm7.length(texts.worst_case(template, menu.placeholders)) > menu.limit


def test_an_empty_value_leaves_no_space_at_a_line_end():
    spots = {name: texts.Placeholder(name, 16) for name in ("product", "grade", "qty")}
    template = "Want: {product} {grade}\n{qty} kg {grade}"
    assert texts.fill(template, {"product": "Beans", "qty": "500"}, spots) == "Want: Beans\n500 kg"
    assert texts.fill(template, {"product": "Beans", "grade": "A", "qty": "5"}, spots) == (
        "Want: Beans A\n5 kg A")


def test_long_more_is_a_225_character_string_and_lints_at_once():
    d = definition("long_more")
    assert len(d["strings"]["more"]["fr"]) == 225 and gsm7.first_non_gsm7(d["strings"]["more"]["fr"]) is None
    assert [str(p) for p in lint(d, GOLDEN_CAPS)] == [
        "error: menu, language fr: string more: navigation label too long: "
        "'98. Voir la suite de la liste Voir la...' is 229 characters at worst case; with the "
        "other navigation line and the invalid line a page of 160 has no room for an option"]


def test_unknown_action_is_only_checked_against_capabilities():
    assert lint(definition("unknown_action")) == []


def test_problem_reads_with_its_location():
    found = lint(definition("long_french"), GOLDEN_CAPS)
    assert [str(p) for p in found] == [
        "error: screen qty, language fr, page 1: page is 235 characters at worst case, "
        "over the limit of 160"]


# -- every other check, on small edits of the valid golden file ----------------------

def _edit(change):
    d = definition("valid")
    change(d)
    return d


def _set(path: str, value):
    def change(d):
        *parents, last = path.split(".")
        node = d
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return change


def _delete(path: str):
    def change(d):
        *parents, last = path.split(".")
        node = d
        for key in parents:
            node = node[key]
        del node[last]
    return change


CHECKS = [
    # (edit, caps, screen, language, message)
    (_set("screens", {}), None, None, None, "screens must be a non-empty mapping"),
    (_set("languages", []), None, None, None, "languages must list at least one language"),
    (_set("limit", 200), None, None, None, "limit must be an integer from 60 to 182"),
    (_set("start", "nowhere"), None, None, None, "start screen 'nowhere' does not exist"),
    (_set("home", "nowhere"), None, None, None, "home screen 'nowhere' does not exist"),
    (_set("keys", {"home": "0"}), None, None, None, "navigation keys must differ"),
    (_set("placeholders.code", 0), None, None, None, "placeholder 'code' needs a positive max"),
    (_set("placeholders.code", {"max": 6, "format": "date"}), None, None, None,
     "placeholder 'code' needs a positive max and a known format"),
    (_delete("strings.ended"), None, None, "fr", "missing string 'ended'"),
    (_delete("strings.err_choice"), None, None, "en", "missing string 'err_choice'"),
    (_set("strings.no", {"en": "No"}), None, None, "fr", "string no: missing translation"),
    (_set("strings.yes", {"en": True, "fr": "Oui"}), None, None, None,
     "string yes must map languages to texts"),
    (_set("screens.bye.type", "exit"), None, "bye", None, "unknown screen type 'exit'"),
    (_set("screens.bye", "end"), None, "bye", None, "screen must be a mapping"),
    (_delete("screens.pick.empty"), None, "pick", None, "list screen needs empty"),
    (_delete("screens.qty.field"), None, "qty", None, "input screen needs field"),
    (_delete("screens.sure.cancel"), None, "sure", None, "confirm screen needs cancel"),
    (_delete("screens.bye.text"), None, "bye", None, "screen has no text"),
    (_set("screens.main.options", [{"label": "x"}]), None, "main", None,
     "option 1 needs a label and a next screen"),
    (_set("screens.save.next", "done"), None, "save", None, "action next must map outcomes"),
    (_set("screens.qty.validate", {"type": "float"}), None, "qty", None,
     "validate: unknown validator type 'float'"),
    (_set("screens.qty.validate", {"type": "integer", "min": 5, "max": 1}), None, "qty", None,
     "validate: validator min is greater than max"),
    (_set("screens.bye.text", {"en": "Bye {Name}", "fr": "Salut"}), None, "bye", "en",
     "text: bad placeholder {Name}"),
    (_set("screens.bye.text", {"en": "Bye }", "fr": "Salut"}), None, "bye", "en",
     "text: unbalanced brace"),
    (_set("screens.bye.text", {"en": "Bye \u2019", "fr": "Salut"}), None, "bye", "en",
     "character outside GSM-7: '\u2019' (U+2019 RIGHT SINGLE QUOTATION MARK); replace it with \"'\""),
    (_set("screens.bye.text", {"en": "Bye", "fr": "Salut \U0001F600"}), None, "bye", "fr",
     "character outside GSM-7: '\U0001F600' (U+1F600 GRINNING FACE); no GSM-7 replacement: reword"),
    (_set("strings.back", {"en": "Back", "fr": "R" * 150}), None, None, "fr",
     "string back: navigation label too long: '0. RRRRR"),
    (_set("screens.main.options.1.label", {"en": "Exit", "fr": "Q" * 150}), None, "main", "fr",
     "option 2: label too long: 'QQQQ"),
    (_set("strings.no", {"en": "No", "fr": "N" * 140}), None, "sure", "fr",
     "string no: label too long"),
    (_set("screens.pick.source", "products"), Capabilities({"save": {"ok"}}, {"products": 150}),
     "pick", "en", "labels of source 'products': label too long"),
    (_set("screens.qty.validate", {"type": "text", "not_digits_only": True}), None, None, "en",
     "missing string 'err_digits_only'"),
    (_set("screens.qty.validate", {"type": "text", "not_digits_only": "yes"}), None, "qty", None,
     "validate: not_digits_only must be true or false"),
    (_set("screens.qty.validate", {"type": "integer", "not_digits_only": True}), None, "qty", None,
     "validate: not_digits_only applies to text validators only"),
    (_set("screens.main.options.0.label", {"en": "Sell", "fr": "Vendre ça"}), None, "main", "fr",
     "option 1: character outside GSM-7"),
    (_set("screens.pick.source", "crops"), GOLDEN_CAPS, "pick", None, "unknown source 'crops'"),
    (_set("screens.save.next", {"ok": "done"}),
     Capabilities(actions={"save": {"ok", "gone"}}, sources={"products": 20}), "save", None,
     "action save outcome 'gone' is not routed"),
    (_set("screens.pick.text", "x" * 130), GOLDEN_CAPS, "pick", "en", "over the limit of 160"),
]


@pytest.mark.parametrize(("change", "caps", "screen", "language", "message"), CHECKS)
def test_each_check_reports_where(change, caps, screen, language, message):
    found = errors(lint(_edit(change), caps))
    assert any(p.screen == screen and p.language == language and message in p.message
               for p in found), [str(p) for p in found]


def test_a_language_not_in_the_menu_is_only_a_warning():
    found = lint(_edit(_set("screens.bye.text", {"en": "Bye", "fr": "Salut", "de": "Tschuss"})))
    assert [(p.severity, p.screen, p.language, p.message) for p in found] == [
        ("warning", "bye", "de", "text: language not in the menu's languages")]
    load(_edit(_set("screens.bye.text", {"en": "Bye", "fr": "Salut", "de": "X"})), 1)


def test_a_single_string_serves_every_language():
    d = _edit(_set("screens.bye.text", "Murabeho"))
    assert lint(d, GOLDEN_CAPS) == []
    assert compile_menu(d)[0].screens["bye"].text == {"*": "Murabeho"}


def test_unquoted_yaml_yes_and_no_are_booleans():
    raw = (GOLDEN / "valid.yaml").read_text(encoding="utf-8")
    unquoted = raw.replace('"yes":', "yes:").replace('"no":', "no:")
    assert unquoted != raw
    found = errors(lint(yaml.safe_load(unquoted)))
    assert {p.message for p in found} >= {"missing string 'yes'", "missing string 'no'"}


def test_pages_are_not_measured_while_a_name_is_unknown():
    d = _edit(_set("screens.pick.text", "x" * 300))
    d["screens"]["main"]["options"].append({"label": "Help", "next": "help"})
    messages = [p.message for p in lint(d, GOLDEN_CAPS)]
    assert messages == ["unknown next screen 'help'"]


def test_every_character_outside_gsm7_is_named_with_its_replacement():
    d = _edit(_set("screens.bye.text", {"en": "Bye", "fr": "\u00c0 bient\u00f4t \u2013 \u00e7a\u2026 \u00e7a"}))
    assert [p.message for p in lint(d) if p.screen == "bye"] == [
        "text: character outside GSM-7: '\u00c0' (U+00C0 LATIN CAPITAL LETTER A WITH GRAVE); replace it with 'A'",
        "text: character outside GSM-7: '\u00f4' (U+00F4 LATIN SMALL LETTER O WITH CIRCUMFLEX); replace it with 'o'",
        "text: character outside GSM-7: '\u2013' (U+2013 EN DASH); replace it with '-'",
        "text: character outside GSM-7: '\u00e7' (U+00E7 LATIN SMALL LETTER C WITH CEDILLA); replace it with 'c'",
        "text: character outside GSM-7: '\u2026' (U+2026 HORIZONTAL ELLIPSIS); replace it with '...'",
    ]


def test_a_page_keeps_room_for_the_error_line_on_every_page():
    # The error line is counted into every page's budget, not only the first:
    # a long English "invalid" leaves room for fewer options on each page.
    d = _edit(_set("strings.invalid", {"en": "E" * 90, "fr": "Choix invalide."}))
    d["screens"]["main"]["options"] += [{"label": {"en": f"Option {i}", "fr": f"Choix {i}"},
                                         "next": "bye"} for i in range(3, 11)]
    assert errors(lint(d, GOLDEN_CAPS)) == []
    menu, _ = compile_menu(d)
    en, fr = (menus.lint.worst_case_pages(menu, menu.screens["main"], lang, GOLDEN_CAPS)
              for lang in ("en", "fr"))
    assert [p.count for p in fr] == [5, 5]
    assert [p.count for p in en] == [3, 5, 2]
    assert all(p.text.startswith("E" * 90 + "\n") and gsm7.length(p.text) <= 160 for p in en)
    assert all(p.text.startswith("Choix invalide.\n") for p in fr)


def test_lint_does_not_change_the_definition():
    d = definition("long_french")
    before = copy.deepcopy(d)
    lint(d, GOLDEN_CAPS)
    assert d == before


def test_required_strings_cover_the_validators_errors():
    assert {"more", "back", "yes", "no", "invalid", "ended", "resume", "err_decimal", "err_number",
            "err_too_small", "err_too_big", "err_too_short", "err_too_long", "err_format",
            "err_choice"} == set(REQUIRED_STRINGS)


# -- the shipped menu ----------------------------------------------------------------

def test_shipped_marketplace_lints_without_error():
    d = yaml.safe_load(MARKETPLACE.read_text(encoding="utf-8"))
    found = lint(d, MARKETPLACE_CAPS)
    assert errors(found) == [], [str(p) for p in found]
    menu = load(d, 1, MARKETPLACE_CAPS)
    assert menu.limit == 160 and set(menu.languages) == {"rw", "en", "fr"}


def test_shipped_marketplace_fails_without_a_capability_it_uses():
    d = yaml.safe_load(MARKETPLACE.read_text(encoding="utf-8"))
    caps = Capabilities({**MARKETPLACE_CAPS.actions, "withdraw": {"ok", "gone", "locked"}},
                        MARKETPLACE_CAPS.sources)
    assert [str(p) for p in errors(lint(d, caps))] == [
        "error: screen do_withdraw: action withdraw outcome 'locked' is not routed"]


def test_menu_cache_compiles_once_per_version():
    fetched = []

    def fetch():
        fetched.append(1)
        return definition("valid")

    cache = MenuCache(GOLDEN_CAPS, size=2)
    first = cache.get("golden", 1, fetch)
    assert cache.get("golden", 1, fetch) is first
    assert len(fetched) == 1
    cache.get("golden", 2, fetch)
    cache.get("golden", 3, fetch)  # evicts version 1
    cache.get("golden", 1, fetch)
    assert len(fetched) == 4
