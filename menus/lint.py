"""The menu linter: every check a definition must pass before it is served.

Used by `gateway menus lint`, the console, and every load. Each problem names
its screen, language and page. Pages are measured at the worst case: every
placeholder at its declared maximum, the back line shown, the longest error
message above the prompt.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from menus import gsm7, texts
from menus.model import REQUIRED_STRINGS, Menu, Screen, compile_menu
from menus.problems import Problem
from menus.render import Page, paginate


@dataclass(frozen=True)
class Capabilities:
    """What the code offers a definition: action names with the outcomes each
    can return, and list sources with the longest label each can produce."""

    actions: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)


REQUIRED = {
    "menu": ("options",), "input": ("next", "field"), "list": ("source", "next", "empty"),
    "confirm": ("next", "cancel"), "action": ("action",), "end": (),
}


def lint(definition: dict, caps: Capabilities | None = None) -> list[Problem]:
    """All problems of a definition dict, errors and warnings."""
    menu, problems = compile_menu(definition)
    if menu is None:
        return problems
    problems += _structure(menu)
    problems += _graph(menu)
    problems += _translations(menu)
    problems += _characters(menu)
    problems += _capabilities(menu, caps)
    if not any(p.severity == "error" and p.message.startswith("unknown") for p in problems):
        navigation = _navigation(menu)
        problems += navigation
        if not navigation:  # else every page would report the same overflow
            problems += _labels(menu, caps or Capabilities())
            problems += _pages(menu, caps or Capabilities())
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _structure(menu: Menu) -> list[Problem]:
    out = []
    if menu.start not in menu.screens:
        out.append(Problem("error", None, None, None, f"start screen {menu.start!r} does not exist"))
    if menu.home and menu.home not in menu.screens:
        out.append(Problem("error", None, None, None, f"home screen {menu.home!r} does not exist"))
    if len(set(menu.keys.values())) != len(menu.keys):
        out.append(Problem("error", None, None, None, "navigation keys must differ"))
    for screen in menu.screens.values():
        for attr in REQUIRED[screen.type]:
            if not getattr(screen, attr):
                out.append(Problem("error", screen.id, None, None, f"{screen.type} screen needs {attr}"))
        if screen.type != "action" and not screen.text:
            out.append(Problem("error", screen.id, None, None, "screen has no text"))
        for target in screen.targets():
            if target not in menu.screens:
                out.append(Problem("error", screen.id, None, None, f"unknown next screen {target!r}"))
    return out


def _graph(menu: Menu) -> list[Problem]:
    reach = _reachable(menu, [s for s in (menu.start, menu.home) if s in menu.screens])
    out = [Problem("error", sid, None, None, "unreachable screen")
           for sid in menu.screens if sid not in reach]
    ends = {sid for sid, s in menu.screens.items() if s.type == "end"}
    reverse: dict[str, set[str]] = {sid: set() for sid in menu.screens}
    for sid, screen in menu.screens.items():
        for target in screen.targets():
            reverse.setdefault(target, set()).add(sid)
    can_end, queue = set(ends), deque(ends)
    while queue:
        for src in reverse.get(queue.popleft(), ()):
            if src not in can_end:
                can_end.add(src)
                queue.append(src)
    out += [Problem("error", sid, None, None, "no end screen is reachable from here")
            for sid in menu.screens if sid in reach and sid not in can_end]
    return out


def _reachable(menu: Menu, roots: list[str]) -> set[str]:
    seen, queue = set(roots), deque(roots)
    while queue:
        for target in menu.screens[queue.popleft()].targets():
            if target in menu.screens and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _all_texts(menu: Menu):
    """(screen id or None, what, language→text dict) for every text of the menu."""
    for key, text in menu.strings.items():
        yield None, f"string {key}", text
    for screen in menu.screens.values():
        if screen.type != "action":
            yield screen.id, "text", screen.text
        for i, option in enumerate(screen.options, 1):
            yield screen.id, f"option {i}", option.label


def _translations(menu: Menu) -> list[Problem]:
    # The required strings, and those a validator option needs (not_digits_only).
    needed = dict.fromkeys(REQUIRED_STRINGS)
    for screen in menu.screens.values():
        needed.update(dict.fromkeys(screen.validator.error_keys if screen.validator else ()))
    out = [Problem("error", None, lang, None, f"missing string {key!r}")
           for key in needed for lang in menu.languages
           if key not in menu.strings]
    for sid, what, text in _all_texts(menu):
        if "*" in text or not text:
            continue
        out += [Problem("error", sid, lang, None, f"{what}: missing translation")
                for lang in menu.languages if not text.get(lang, "").strip()]
        out += [Problem("warning", sid, lang, None, f"{what}: language not in the menu's languages")
                for lang in text if lang not in menu.languages]
    return out


def _characters(menu: Menu) -> list[Problem]:
    out = []
    for sid, what, text in _all_texts(menu):
        for lang, template in text.items():
            lang = None if lang == "*" else lang
            for bad in gsm7.outside(template):
                out.append(Problem("error", sid, lang, None,
                                   f"{what}: character outside GSM-7: {gsm7.describe(bad)}; "
                                   f"{gsm7.advice(bad)}"))
            for reason in texts.syntax_errors(template):
                out.append(Problem("error", sid, lang, None, f"{what}: {reason}"))
            for name in texts.names(template):
                if texts.syntax_errors("{" + name + "}") == [] and name not in menu.placeholders:
                    out.append(Problem("error", sid, lang, None,
                                       f"{what}: placeholder {{{name}}} has no declared length"))
    return out


def _capabilities(menu: Menu, caps: Capabilities | None) -> list[Problem]:
    if caps is None:
        return []
    out = []
    for screen in menu.screens.values():
        if screen.type == "action" and screen.action:
            if screen.action not in caps.actions:
                out.append(Problem("error", screen.id, None, None, f"unknown action {screen.action!r}"))
                continue
            for outcome in sorted(caps.actions[screen.action]):
                if outcome not in screen.outcomes:
                    out.append(Problem("error", screen.id, None, None,
                                       f"action {screen.action} outcome {outcome!r} is not routed"))
        if screen.type == "list" and screen.source and screen.source not in caps.sources:
            out.append(Problem("error", screen.id, None, None, f"unknown source {screen.source!r}"))
    return out


def _worst_options(menu: Menu, screen: Screen, lang: str, caps: Capabilities) -> list[str]:
    def text(t: dict) -> str:
        return texts.worst_case(t.get(lang) or t.get("*", ""), menu.placeholders)

    if screen.type == "menu":
        return [text(o.label) for o in screen.options]
    if screen.type == "confirm":
        return [text(menu.strings.get("yes", {})), text(menu.strings.get("no", {}))]
    if screen.type == "list":
        width = caps.sources.get(screen.source, 20)
        return ["W" * width] * menu.max_options
    return []


# A page must hold, besides its navigation lines and the longest error line,
# one option line with a label this long; shorter room means a navigation
# label is too long for the limit.
OPTION_ROOM = 10


def _worst(menu: Menu, lang: str, t: dict) -> str:
    return texts.worst_case(t.get(lang) or t.get("*", ""), menu.placeholders)


def _nav_lines(menu: Menu, lang: str) -> dict[str, str]:
    return {key: f"{menu.keys[key]}. {_worst(menu, lang, menu.strings.get(key, {}))}"
            for key in ("more", "back")}


def _longest_error(menu: Menu, screen: Screen, lang: str) -> str:
    return max((_worst(menu, lang, menu.strings.get(k, {})) for k in screen.error_keys()),
               key=gsm7.length, default="")


def _shown(line: str, width: int = 40) -> str:
    return repr(line if len(line) <= width else line[: width - 3] + "...")


def _navigation(menu: Menu) -> list[Problem]:
    """Navigation labels too long for a page: the more and back lines with
    the `invalid` line leave no room for one option line."""
    out = []
    for lang in menu.languages:
        lines = _nav_lines(menu, lang)
        invalid = gsm7.length(_worst(menu, lang, menu.strings.get("invalid", {}))) + 1
        room = menu.limit - invalid - len(f"1. {'W' * OPTION_ROOM}")
        cost = {k: gsm7.length(line) + 1 for k, line in lines.items()}
        if sum(cost.values()) <= room:
            continue
        guilty = [k for k in lines if cost[k] > room / 2] or list(lines)
        for key in guilty:
            out.append(Problem(
                "error", None, lang, None,
                f"string {key}: navigation label too long: {_shown(lines[key])} is "
                f"{cost[key] - 1} characters at worst case; with the other navigation line and "
                f"the invalid line a page of {menu.limit} has no room for an option"))
    return out


def _labels(menu: Menu, caps: Capabilities) -> list[Problem]:
    """Option labels too long for any page (the run time would cut them):
    each must fit one page with the navigation lines and the longest error."""
    out = []
    for screen in menu.screens.values():
        if screen.type not in ("menu", "confirm", "list"):
            continue
        for lang in menu.languages:
            nav = _nav_lines(menu, lang)
            error = _longest_error(menu, screen, lang)
            fixed = gsm7.length(error) + 1 + (gsm7.length(nav["back"]) + 1 if screen.back else 0)
            options = _worst_options(menu, screen, lang, caps)
            for i, label in enumerate(options):
                following = i < len(options) - 1
                room = menu.limit - fixed - (gsm7.length(nav["more"]) + 1 if following else 0)
                size = gsm7.length(f"1. {label}")
                if size <= room:
                    continue
                what = (f"option {i + 1}" if screen.type == "menu"
                        else f"string {('yes', 'no')[i]}" if screen.type == "confirm"
                        else f"labels of source {screen.source!r}")
                out.append(Problem(
                    "error", screen.id, lang, None,
                    f"{what}: label too long: {_shown(label)} makes a {size}-character line at "
                    f"worst case; a page of {menu.limit} holds {max(room, 0)} with its other lines"))
                if screen.type == "list":
                    break  # the source's labels are all alike
    return out


def _pages(menu: Menu, caps: Capabilities) -> list[Problem]:
    out = []
    for screen in menu.screens.values():
        if screen.type == "action":
            continue
        for lang in menu.languages:
            out += _screen_pages(menu, screen, lang, caps)
    return out


def worst_case_pages(menu: Menu, screen: Screen, lang: str, caps: Capabilities | None = None) -> list[Page]:
    """The pages of `screen` in `lang` as the linter measures them: every
    placeholder at its max, the back line, and the screen's longest error
    line above every page (each page keeps room for it, as at run time)."""
    caps = caps or Capabilities()
    error = _longest_error(menu, screen, lang)
    nav = _nav_lines(menu, lang)
    pages = paginate(_worst(menu, lang, screen.text), _worst_options(menu, screen, lang, caps),
                     limit=menu.limit, more=nav["more"], back=nav["back"] if screen.back else None,
                     max_options=menu.max_options, split_text=False,
                     reserve=gsm7.length(error) + 1 if error else 0)
    if not error:
        return pages
    return [Page(f"{error}\n{page.text}", page.first, page.count) for page in pages]


def _screen_pages(menu, screen, lang, caps) -> list[Problem]:
    out = []
    for number, page in enumerate(worst_case_pages(menu, screen, lang, caps), 1):
        size = gsm7.length(page.text)
        if size > menu.limit:
            out.append(Problem("error", screen.id, lang, number,
                               f"page is {size} characters at worst case, over the limit of {menu.limit}"))
    return out
