"""Menu definitions as data, compiled into immutable objects.

A definition is a plain dict (parsed from YAML by the caller; this package does
no IO). `compile_menu` turns it into a `Menu` and reports every structural
problem it meets instead of stopping at the first, so the linter can show them
all. See `menus/FORMAT.md` for the format.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from menus import texts, validators
from menus.problems import Problem

SCREEN_TYPES = frozenset({"menu", "input", "list", "confirm", "action", "end"})
DEFAULT_KEYS = {"back": "0", "home": "00", "more": "98"}
# Texts the renderer itself needs, in every language of the menu.
REQUIRED_STRINGS = ("more", "back", "yes", "no", "invalid", "ended", "resume") + tuple(
    sorted({k for keys in validators.ERROR_KEYS.values() for k in keys})
)


class DefinitionError(ValueError):
    """A definition that cannot be used; `problems` lists why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass(frozen=True)
class Option:
    """A numbered choice on a menu screen."""

    label: dict
    next: str
    set: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Screen:
    """One screen. Which fields matter depends on `type` (see FORMAT.md)."""

    id: str
    type: str
    text: dict = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    next: str | None = None
    outcomes: dict = field(default_factory=dict)
    action: str | None = None
    source: str | None = None
    field: str | None = None
    validator: validators.Validator | None = None
    cancel: str | None = None
    empty: str | None = None
    back: bool = True

    def error_keys(self) -> tuple[str, ...]:
        """The strings that can stand above this screen after a wrong answer.
        Every page of the screen keeps room for the longest of them (the
        engine when it pages, the linter when it measures), so an error never
        moves an option to another page."""
        if self.type in ("action", "end"):
            return ()
        return ("invalid",) + (self.validator.error_keys if self.validator else ())

    def targets(self) -> list[str]:
        """Every screen id this screen can lead to."""
        out = [o.next for o in self.options]
        out += [t for t in (self.next, self.cancel, self.empty) if t]
        out += list(self.outcomes.values())
        return out


@dataclass(frozen=True)
class Menu:
    """A compiled, immutable menu version."""

    name: str
    version: int
    languages: tuple[str, ...]
    limit: int
    start: str
    home: str
    keys: dict
    max_options: int
    placeholders: dict
    strings: dict
    screens: dict

    def string(self, key: str, lang: str) -> str:
        return self.strings.get(key, {}).get(lang, "")


def _texts(raw, where: str, problems: list, screen: str | None) -> dict:
    if isinstance(raw, str):
        raw = {"*": raw}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        problems.append(Problem("error", screen, None, None, f"{where} must map languages to texts"))
        return {}
    return dict(raw)


def _placeholders(raw, problems) -> dict:
    out = {}
    for name, spec in (raw or {}).items():
        spec = {"max": spec} if isinstance(spec, int) else (spec or {})
        size, fmt = spec.get("max"), spec.get("format", "text")
        if not isinstance(size, int) or size < 1 or fmt not in texts.FORMATS:
            problems.append(Problem("error", None, None, None,
                                    f"placeholder {name!r} needs a positive max and a known format"))
            continue
        out[name] = texts.Placeholder(name, size, fmt)
    return out


def _screen(sid: str, raw, problems: list) -> Screen | None:
    if not isinstance(raw, dict):
        problems.append(Problem("error", sid, None, None, "screen must be a mapping"))
        return None
    kind = raw.get("type")
    if kind not in SCREEN_TYPES:
        problems.append(Problem("error", sid, None, None, f"unknown screen type {kind!r}"))
        return None
    options = []
    for i, opt in enumerate(raw.get("options") or [], 1):
        if not isinstance(opt, dict) or not isinstance(opt.get("next"), str):
            problems.append(Problem("error", sid, None, None, f"option {i} needs a label and a next screen"))
            continue
        label = _texts(opt.get("label", {}), f"option {i} label", problems, sid)
        options.append(Option(label, opt["next"], dict(opt.get("set") or {})))
    validator = None
    if kind == "input":
        try:
            validator = validators.build(raw.get("validate") or {})
        except ValueError as exc:
            problems.append(Problem("error", sid, None, None, f"validate: {exc}"))
    outcomes = raw.get("next") if kind == "action" else {}
    if kind == "action" and not isinstance(outcomes, dict):
        problems.append(Problem("error", sid, None, None, "action next must map outcomes to screens"))
        outcomes = {}
    return Screen(
        id=sid, type=kind,
        text=_texts(raw.get("text", {}), "text", problems, sid),
        options=tuple(options),
        next=None if kind == "action" else raw.get("next"),
        outcomes=dict(outcomes or {}),
        action=raw.get("action"), source=raw.get("source"), field=raw.get("field"),
        validator=validator, cancel=raw.get("cancel"), empty=raw.get("empty"),
        back=bool(raw.get("back", kind not in ("action", "end"))),
    )


def compile_menu(definition: dict, version: int = 0) -> tuple[Menu | None, list[Problem]]:
    """Compile a definition dict. Returns the menu (None when it cannot be built
    at all) and the structural problems found."""
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        return None, [Problem("error", None, None, None, "definition must be a mapping")]
    languages = tuple(definition.get("languages") or ())
    if not languages:
        problems.append(Problem("error", None, None, None, "languages must list at least one language"))
    raw_screens = definition.get("screens")
    if not isinstance(raw_screens, dict) or not raw_screens:
        problems.append(Problem("error", None, None, None, "screens must be a non-empty mapping"))
        return None, problems
    screens = {sid: s for sid, raw in raw_screens.items() if (s := _screen(str(sid), raw, problems))}
    limit = definition.get("limit", 160)
    if not isinstance(limit, int) or not 60 <= limit <= 182:
        problems.append(Problem("error", None, None, None, "limit must be an integer from 60 to 182"))
        limit = 160
    max_options = definition.get("max_options", 7)
    if not isinstance(max_options, int) or isinstance(max_options, bool) or not 1 <= max_options <= 9:
        problems.append(Problem("error", None, None, None, "max_options must be an integer from 1 to 9"))
        max_options = 7
    keys = {**DEFAULT_KEYS, **(definition.get("keys") or {})}
    keys = {k: str(v) for k, v in keys.items()}
    strings = {k: _texts(v, f"string {k}", problems, None) for k, v in (definition.get("strings") or {}).items()}
    menu = Menu(
        name=str(definition.get("name", "menu")), version=version, languages=languages,
        limit=limit, start=str(definition.get("start", "")), home=str(definition.get("home", "")),
        keys=MappingProxyType(keys), max_options=max_options,
        placeholders=MappingProxyType(_placeholders(definition.get("placeholders"), problems)),
        strings=MappingProxyType(strings), screens=MappingProxyType(screens),
    )
    return menu, problems
