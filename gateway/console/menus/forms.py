"""The menu editor's forms: one screen's fields, and the as-you-type lint.

A screen's form has the fields that screen has (its texts per language,
its options, targets, outcomes, validator), named as the page names them
(`text.fr`, `option.2.label.en`, `option.2.next`, `validate.min`, ...), so
its class is built per screen by `screen_form`. Every field is optional: a
field the page did not post leaves that part of the screen alone
(`ConsoleForm.changes` is what `screenform.apply` takes). Values are checked
when applied (`screenform.FormError` says which field and why).
"""
from __future__ import annotations

from wtforms import StringField

from gateway.console.common.forms import ConsoleForm, SourceForm
from gateway.console.menus.screenform import TARGET_FIELDS, VALIDATOR_FIELDS

VALIDATOR_NAMES = ("type",) + tuple(dict.fromkeys(n for names in VALIDATOR_FIELDS.values() for n in names))


class ScreenForm(ConsoleForm):
    """The base of every screen's form (see `screen_form`)."""


class MenuLintForm(SourceForm):
    """As-you-type lint: the whole YAML (`source`), or the id of the screen
    (`screen`) whose form fields come with it."""

    screen = StringField()


def _texts(prefix: str, texts: dict | None, languages: list[str]) -> list[str]:
    """A text's fields: one per language, and `*` for a text that is the same
    in every language."""
    keys = ["*", *languages, *(texts or {})]
    return [f"{prefix}.{key}" for key in dict.fromkeys(keys)]


def field_names(view: dict) -> list[str]:
    """The HTML names of the fields of the screen `view` (`screenform.screen_view`)."""
    languages = view["languages"]
    names = _texts("text", view["text"], languages) if view["text"] is not None else []
    for option in view["options"]:
        names += _texts(f"option.{option['index']}.label", option["label"], languages)
        names.append(f"option.{option['index']}.next")
    names += list(TARGET_FIELDS.get(view["type"], ()))
    names += [f"outcome.{outcome}" for outcome in view["outcomes"]]
    if view["validate"] is not None:
        names += [f"validate.{name}" for name in VALIDATOR_NAMES]
    return names


def screen_form(view: dict) -> type[ScreenForm]:
    """The form class of the screen `view`."""
    fields = {f"field_{i}": StringField(name=name) for i, name in enumerate(field_names(view))}
    return type("ScreenForm", (ScreenForm,), fields)
