"""The SMS texts as a console document: lint, per-kind form, preview, publish.

The shipped `gateway/data/sms.yaml` is the default. Published versions are
rows of `menu_versions` named `sms-texts` (head in `menu_heads`), the same
immutable storage and rollback as menus; `gateway.sms.texts` renders the head
through the loader `gateway.operators.accounts.PublishedSmsTexts`.

Texts are `str.format_map` templates, so lint insists on plain `{name}`
placeholders that the gateway supplies for that kind of message (no
attribute access, indexing or format spec), GSM-7 only, every language, and
a bounded number of SMS segments at the worst case.
"""
from __future__ import annotations

import string
from datetime import datetime, timezone
from importlib import resources

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.ussd import menustore
from gateway.sms import texts as smstexts
from gateway.console.common import roundtrip
from gateway.console.common.documents import Document
from gateway.ussd.models import MenuHead, MenuVersion
from gateway.sms.texts import SMS_TEXTS
from menus import gsm7
from menus.problems import Problem

LANGS = ("rw", "en", "fr")
_ORDER_VALUES = frozenset({"code", "product", "quantity", "unit", "price", "total"})
# What the gateway passes to smstexts.render for each kind (gateway.market,
# gateway.orders). Kinds not listed may use what their shipped text uses.
SUPPLIED = {
    "listing_receipt": _ORDER_VALUES | {"dial"},
    "order_new": _ORDER_VALUES | {"dial"},
    "order_accepted": _ORDER_VALUES, "order_rejected": _ORDER_VALUES,
    "order_cancelled": _ORDER_VALUES, "order_expired_seller": _ORDER_VALUES,
    "order_expired_buyer": _ORDER_VALUES,
}
SAMPLE = {"code": "482113", "product": "Parchment coffee (A)", "quantity": "50", "unit": "kg",
          "price": "1,750 RWF", "total": "87,500 RWF", "dial": "*384*7*482113#", "name": "Jean Bosco"}


def shipped_source() -> str:
    return resources.files("gateway").joinpath("data", "sms.yaml").read_text("utf-8")


def _shipped() -> dict:
    data = yaml.safe_load(shipped_source())
    return data if isinstance(data, dict) else {}


def placeholders(template: str) -> list[str]:
    """Field names of a format template; ValueError on unbalanced braces."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def allowed(kind: str, shipped: dict) -> set[str]:
    """The values the gateway passes when it sends `kind`."""
    out = set(SUPPLIED.get(kind, ()))
    for template in ((shipped.get("templates") or {}).get(kind) or {}).values():
        try:
            out.update(placeholders(str(template)))
        except ValueError:
            pass
    return out


def _fill(template: str, names: set[str], worst: bool) -> str:
    widths = getattr(smstexts, "PLACEHOLDER_WIDTHS", {})
    default = getattr(smstexts, "UNKNOWN_WIDTH", 20)
    values = {n: ("W" * widths.get(n, default) if worst else SAMPLE.get(n, n.upper())) for n in names}
    return template.format_map(values)


def lint(source: str) -> list[Problem]:
    """`smstexts.lint` (languages, GSM-7, placeholder syntax, segments at the
    worst case), located for the console, plus what only the gateway's callers
    know: every kind the gateway sends is there, and every placeholder is one
    the gateway supplies for that kind (anything else would fail the send)."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        return [Problem("error", None, None, None, f"not valid YAML: {exc}")]
    problems = [_located(p) for p in smstexts.lint(data)]
    if not isinstance(data, dict) or not isinstance(data.get("templates"), dict):
        return problems
    shipped = _shipped()
    templates = data["templates"]
    for kind in (shipped.get("templates") or {}):
        if kind not in templates:
            problems.append(Problem("error", str(kind), None, None, "missing: the gateway sends this message"))
    units = data.get("units") if isinstance(data.get("units"), dict) else {}
    problems += [Problem("error", None, None, None, f"unit {u}: missing (the catalogue uses it)")
                 for u in (shipped.get("units") or {}) if u not in units]
    for kind, texts in templates.items():
        kind = str(kind)
        if kind not in (shipped.get("templates") or {}):
            problems.append(Problem("warning", kind, None, None, "the gateway sends no message of this kind"))
        if not isinstance(texts, dict):
            continue
        names = allowed(kind, shipped)
        for lang, template in texts.items():
            try:
                used = placeholders(template) if isinstance(template, str) else []
            except ValueError:
                continue  # smstexts.lint reports the braces
            for name in dict.fromkeys(n for n in used if n.isidentifier() and n not in names):
                problems.append(Problem("error", kind, str(lang), None,
                                        f"placeholder {{{name}}} is not supplied for this message; available: "
                                        f"{', '.join('{' + n + '}' for n in sorted(names))}"))
    return problems


def _located(p) -> Problem:
    """A `smstexts.Problem` as the console shows it: at its kind and language;
    file and unit problems belong to the whole file."""
    kind = p.kind if p.kind and not p.kind.startswith(("(", "unit ")) else None
    message = p.message if kind or not p.kind.startswith("unit ") else f"{p.kind}: {p.message}"
    return Problem(p.level, kind, p.lang or None, None, message)


def preview(source: str) -> list[dict]:
    """[{kind, languages: [{lang, text, sample, worst}]}] with lengths and segments."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError:
        return []
    templates = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(templates, dict):
        return []
    out = []
    for kind, texts in templates.items():
        langs = []
        for lang in LANGS:
            template = texts.get(lang) if isinstance(texts, dict) else None
            entry = {"lang": lang, "template": template, "sample": None, "worst": None}
            if isinstance(template, str):
                try:
                    names = set(placeholders(template))
                    entry["sample"] = _measure(_fill(template, names, worst=False))
                    entry["worst"] = _measure(_fill(template, names, worst=True))
                except (ValueError, KeyError, IndexError, AttributeError):
                    pass
            langs.append(entry)
        out.append({"kind": str(kind), "languages": langs})
    return out


def _measure(text: str) -> dict:
    return {"text": text, "length": gsm7.length(text), "segments": smstexts.segments(text),
            "gsm7": gsm7.first_non_gsm7(text) is None}


def kinds(source: str) -> list[str]:
    try:
        data = yaml.safe_load(source)
        return [str(k) for k in (data.get("templates") or {})]
    except (yaml.YAMLError, AttributeError):
        return []


def kind_view(source: str, kind: str) -> dict:
    """The texts of one kind for its form. KeyError if absent."""
    data = yaml.safe_load(source)
    texts = data["templates"][kind]
    if not isinstance(texts, dict):
        raise KeyError(kind)
    return {"kind": kind, "texts": {lang: texts.get(lang, "") for lang in LANGS},
            "allowed": sorted(allowed(kind, _shipped()))}


def apply(source: str, kind: str, form) -> str:
    """The YAML with the texts of `kind` changed as the form (`text.<lang>`) says."""
    y, data = roundtrip.load_roundtrip(source)
    try:
        texts = data["templates"][kind]
    except (KeyError, TypeError):
        raise roundtrip.FormError(f"there is no message kind {kind!r}") from None
    expected = {}
    for lang in LANGS:
        field = f"text.{lang}"
        if field in form:
            value = roundtrip.clean_text(form[field])
            if texts.get(lang) != value:
                texts[lang] = roundtrip.quoted(value)
            expected[lang] = value
    out = roundtrip.dump_roundtrip(y, data)
    parsed = yaml.safe_load(out)
    if any(parsed["templates"][kind].get(lang) != value for lang, value in expected.items()):
        raise roundtrip.FormError("the texts would not read back as written; edit the YAML instead")
    return out


def store(s: Session, source: str, created_by: str | None, note: str | None) -> MenuVersion:
    """Add the next version of the SMS texts and make it the head."""
    latest = s.scalar(select(func.max(MenuVersion.version)).where(MenuVersion.name == SMS_TEXTS)) or 0
    row = MenuVersion(name=SMS_TEXTS, version=latest + 1, source=source, created_at=datetime.now(timezone.utc),
                      created_by=created_by, note=note)
    s.add(row)
    s.flush()
    head = s.get(MenuHead, SMS_TEXTS)
    if head is None:
        s.add(MenuHead(name=SMS_TEXTS, version=row.version, updated_at=datetime.now(timezone.utc)))
    else:
        head.version, head.updated_at = row.version, datetime.now(timezone.utc)
    return row


def document(loader) -> Document:
    """`loader` is this process's PublishedSmsTexts (None when smstexts has no hook)."""
    def announce(version: int) -> str | None:
        if loader is None:
            return ("Stored, but this gateway still sends the shipped SMS texts: "
                    "gateway.smstexts has no set_source hook yet.")
        loader.invalidate()
        return None

    return Document("sms", SMS_TEXTS, lint, store, announce)


def head(s: Session) -> int | None:
    return menustore.head(s, SMS_TEXTS)
