"""The per-screen form of the menu editor: what it shows, and how a submitted
form changes the draft's YAML.

Edits go through `common.roundtrip`, so comments, key order and flow style
survive. Every value written is read back with PyYAML (what the gateway
parses with) before the new text is accepted.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from gateway.console.common.roundtrip import FormError, clean_text, dump_roundtrip, load_roundtrip, quoted
from gateway.ussd import menustore
from menus.model import DefinitionError

VALIDATOR_FIELDS = {"integer": ("min", "max", "units"), "text": ("min", "max", "not_digits_only"),
                    "regex": ("pattern",), "choice": ("choices",)}
TARGET_FIELDS = {"input": ("next",), "list": ("next", "empty"), "confirm": ("next", "cancel")}
_PLAIN_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(value: str):
    """A screen id, plain when YAML 1.1 reads it back as the same string."""
    if _PLAIN_ID.match(value) and yaml.safe_load(value) == value:
        return value
    return DoubleQuotedScalarString(value)


# -- what the form shows --------------------------------------------------------

def _langs_of(text, languages) -> dict:
    if isinstance(text, str):
        return {"*": text}
    text = text if isinstance(text, dict) else {}
    return {lang: text.get(lang, "") for lang in languages} | {k: v for k, v in text.items() if k not in languages}


def screen_view(definition: dict, sid: str) -> dict:
    """The fields of screen `sid` as the form shows them. KeyError if absent."""
    screens = definition.get("screens") or {}
    raw = screens[sid]
    if not isinstance(raw, dict):
        raise KeyError(sid)
    languages = [str(x) for x in definition.get("languages") or []]
    kind = raw.get("type")
    view = {"id": sid, "type": kind, "languages": languages, "field": raw.get("field"),
            "source": raw.get("source"), "action": raw.get("action"),
            "text": _langs_of(raw.get("text", {}), languages) if kind != "action" else None,
            "options": [], "targets": {}, "outcomes": {}, "validate": None,
            "screen_ids": [str(k) for k in screens]}
    for i, option in enumerate(raw.get("options") or [], 1):
        if isinstance(option, dict):
            view["options"].append({"index": i, "label": _langs_of(option.get("label", {}), languages),
                                    "next": option.get("next")})
    for name in TARGET_FIELDS.get(kind, ()):
        view["targets"][name] = raw.get(name)
    if kind == "action" and isinstance(raw.get("next"), dict):
        view["outcomes"] = {str(k): v for k, v in raw["next"].items()}
    if kind == "input":
        spec = raw.get("validate") if isinstance(raw.get("validate"), dict) else {}
        view["validate"] = {"type": spec.get("type", ""), "min": spec.get("min", ""), "max": spec.get("max", ""),
                            "pattern": spec.get("pattern", ""),
                            "choices": ", ".join(map(str, spec.get("choices") or [])),
                            "units": ", ".join(map(str, spec.get("units") or [])),
                            "not_digits_only": "yes" if spec.get("not_digits_only") else "no"}
    return view


# -- applying a submitted form ----------------------------------------------------

class _Writer:
    """How new values are written: ruamel nodes that keep the YAML's style
    (`roundtrip`), or plain Python values (a parsed dict, for linting)."""

    def __init__(self, roundtrip: bool):
        self.roundtrip = roundtrip

    def text(self, value: str):
        return quoted(value) if self.roundtrip else value

    def ident(self, value: str):
        return _ident(value) if self.roundtrip else value

    def mapping(self, flow: bool = False):
        if not self.roundtrip:
            return {}
        node = CommentedMap()
        if flow:
            node.fa.set_flow_style()
        return node

    def sequence(self, values: list[str]):
        if not self.roundtrip:
            return list(values)
        node = CommentedSeq(quoted(v) for v in values)
        node.fa.set_flow_style()
        return node


def apply(source: str, sid: str, form: Mapping[str, str]) -> str:
    """The YAML with screen `sid` changed as `form` says. Fields absent from
    the form are left alone. FormError when a value is invalid, the screen
    is absent, or the result would not read back as written."""
    y, data = load_roundtrip(source)
    expected = _apply(data, sid, form, _Writer(roundtrip=True))
    out = dump_roundtrip(y, data)
    _check(out, expected)
    return out


def apply_to_definition(definition: dict, sid: str, form: Mapping[str, str]) -> dict:
    """A changed copy of a parsed definition: what `apply` would save, without
    the (slow) round trip through text. For linting as the operator types."""
    data = copy.deepcopy(definition)
    _apply(data, sid, form, _Writer(roundtrip=False))
    return data


def _apply(data, sid: str, form: Mapping[str, str], write: _Writer) -> list[tuple[tuple, object]]:
    screens = data.get("screens") if isinstance(data, dict) else None
    if not isinstance(screens, dict) or sid not in screens or not isinstance(screens[sid], dict):
        raise FormError(f"there is no screen {sid!r} in the draft")
    screen = screens[sid]
    expected: list[tuple[tuple, object]] = []
    languages = [str(x) for x in data.get("languages") or []]

    def set_texts(node: dict, key: str, prefix: str, path: tuple) -> None:
        current = node.get(key)
        if isinstance(current, str) or (current is None and f"{prefix}.*" in form):
            if f"{prefix}.*" in form:
                value = clean_text(form[f"{prefix}.*"])
                if value != current:
                    node[key] = write.text(value)
                expected.append((path + (key,), value))
            return
        if current is None:
            current = node[key] = write.mapping()
        if not isinstance(current, dict):
            return
        for lang in languages + [k for k in current if k not in languages]:
            field = f"{prefix}.{lang}"
            if field in form:
                value = clean_text(form[field])
                if current.get(lang) != value:
                    current[lang] = write.text(value)
                expected.append((path + (key, lang), value))

    def set_target(node: dict, key, value: str | None, path: tuple) -> None:
        if value is None:
            return
        value = value.strip()
        if not value:
            raise FormError(f"{key}: choose a screen")
        if node.get(key) != value:
            node[key] = write.ident(value)
        expected.append((path + (key,), value))

    base = ("screens", sid)
    if screen.get("type") != "action":
        set_texts(screen, "text", "text", base)
    for i, option in enumerate(screen.get("options") or [], 1):
        if not isinstance(option, dict):
            continue
        set_texts(option, "label", f"option.{i}.label", base + ("options", i - 1))
        set_target(option, "next", form.get(f"option.{i}.next"), base + ("options", i - 1))
    for name in TARGET_FIELDS.get(screen.get("type"), ()):
        set_target(screen, name, form.get(name), base)
    if screen.get("type") == "action" and isinstance(screen.get("next"), dict):
        for outcome in list(screen["next"]):
            set_target(screen["next"], outcome, form.get(f"outcome.{outcome}"), base + ("next",))
    if screen.get("type") == "input" and "validate.type" in form:
        wanted = _validator(form)
        spec = screen.get("validate")
        if not isinstance(spec, dict):
            spec = screen["validate"] = write.mapping(flow=True)
        for key in [k for k in spec if k not in wanted]:
            del spec[key]
        for key, value in wanted.items():
            if spec.get(key) != value:
                if isinstance(value, list):
                    spec[key] = write.sequence(value)
                else:
                    spec[key] = write.text(value) if isinstance(value, str) and key != "type" else value
        expected.append((base + ("validate",), wanted))
    return expected


def _int(form: Mapping[str, str], name: str) -> int | None:
    raw = (form.get(f"validate.{name}") or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FormError(f"validator {name}: enter a whole number, not {raw!r}") from None


def _words(form: Mapping[str, str], name: str) -> list[str]:
    return [w.strip() for w in (form.get(f"validate.{name}") or "").split(",") if w.strip()]


def _validator(form: Mapping[str, str]) -> dict:
    """The `validate` mapping the form describes."""
    kind = form["validate.type"].strip()
    if kind not in VALIDATOR_FIELDS:
        raise FormError(f"validator type: choose one of {', '.join(VALIDATOR_FIELDS)}")
    wanted: dict = {"type": kind}
    for name in VALIDATOR_FIELDS[kind]:
        if name in ("min", "max"):
            value = _int(form, name)
        elif name in ("choices", "units"):
            value = _words(form, name) or None
        elif name == "not_digits_only":  # a yes/no select: "no" leaves the key out
            value = True if (form.get(f"validate.{name}") or "").strip() == "yes" else None
        else:
            value = (form.get(f"validate.{name}") or "").strip() or None
        if value is not None:
            wanted[name] = value
    return wanted


def _check(out: str, expected: list[tuple[tuple, object]]) -> None:
    try:
        parsed = menustore.parse(out)
    except DefinitionError:
        raise FormError("the change would break the YAML; edit it as YAML instead") from None
    for path, value in expected:
        node = parsed
        try:
            for step in path:
                node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        if node != value:
            raise FormError(f"{'.'.join(map(str, path))} would not read back as written; "
                            f"edit it as YAML instead")
