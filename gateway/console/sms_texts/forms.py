"""The SMS texts editor's forms: one kind of message, and the as-you-type lint."""
from __future__ import annotations

from wtforms import StringField, TextAreaField

from gateway.console.common.forms import ConsoleForm, SourceForm
from gateway.console.sms_texts.texts import LANGS


class KindForm(ConsoleForm):
    """The texts of one kind of message, one per language (`text.rw`,
    `text.en`, `text.fr`). A language not posted is left alone."""

    text_rw = TextAreaField(name="text.rw")
    text_en = TextAreaField(name="text.en")
    text_fr = TextAreaField(name="text.fr")

    def texts(self) -> dict[str, str]:
        """The posted texts by field name, as `texts.apply` takes them."""
        return {name: value for name, value in self.changes().items()
                if name in {f"text.{lang}" for lang in LANGS}}


class KindLintForm(KindForm, SourceForm):
    """As-you-type lint: the whole YAML (`source`), or a kind (`kind`) and
    its texts."""

    kind = StringField()
