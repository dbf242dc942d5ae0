"""The catalogue page's form. The catalogue's rules (names, units, prices,
grades) live in `gateway.market.catalogue` and its problems are shown as
they are; this form only turns the page's fields into the product's shape."""
from __future__ import annotations

from wtforms import StringField, TextAreaField

from gateway.console.common.forms import ConsoleForm
from gateway.market.catalogue import GRADE_FIELDS, NAME_FIELDS


def grades_text(grades: list[dict]) -> str:
    """The grades as the page's text area shows them: one a line,
    `code | name_rw | name_en | name_fr`."""
    return "\n".join(" | ".join(g.get(k, "") for k in GRADE_FIELDS) for g in grades or [])


class ProductForm(ConsoleForm):
    """An edit of one product; a field the page did not send is left alone."""

    name_rw = StringField()
    name_en = StringField()
    name_fr = StringField()
    unit = StringField()
    reference_price = StringField()
    active = StringField()  # "yes" / "no"
    grades = TextAreaField()

    def product_changes(self) -> dict:
        """The posted fields in the shape `catalogue.edit` takes."""
        sent = {name: value for name, value in self.changes().items()}
        changes: dict = {k: sent[k] for k in (*NAME_FIELDS, "unit", "active") if k in sent}
        if "reference_price" in sent:
            changes["reference_price"] = sent["reference_price"].strip()
        if "grades" in sent:
            changes["grades"] = [_grade(line) for line in sent["grades"].splitlines() if line.strip()]
        return changes


def _grade(line: str):
    values = [v.strip() for v in line.split("|")]
    # A line without the four parts goes through as it is: the catalogue says what is wrong.
    return dict(zip(GRADE_FIELDS, values)) if len(values) == len(GRADE_FIELDS) else line


class ResolveForm(ConsoleForm):
    """An operator's end to a dispute: what happened to the goods."""

    outcome = StringField()  # "delivered" or "cancelled"


class RetryForm(ConsoleForm):
    """An editor sends a held transfer again (the CSRF token is the whole form)."""


MAX_BROADCAST = 480  # characters: three GSM-7 parts at most, the linter says what is wrong below it


class BroadcastForm(ConsoleForm):
    """A broadcast to a segment (`gateway.orders.segments`): role, product
    and district as the CLI takes them, the text, and on the send step the
    recipient count the operator confirmed (required above 1,000)."""

    role = StringField(filters=[lambda v: (v or "").strip()])
    product = StringField(filters=[lambda v: (v or "").strip()])
    district = StringField(filters=[lambda v: (v or "").strip()])
    text = TextAreaField(filters=[lambda v: (v or "").strip()[:MAX_BROADCAST * 2]])
    confirmed = StringField(filters=[lambda v: (v or "").strip()])

    def confirmed_count(self) -> int | None:
        """The recipient count the operator confirmed, None when none or not a number."""
        value = self.confirmed.data or ""
        return int(value) if value.isdigit() and len(value) < 10 else None
