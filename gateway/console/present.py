"""Helpers that shape data for the console's templates: GSM-7 marking, dates,
lint problems grouped by screen, diffs. Everything returned as Markup is
built from escaped pieces; user text is never trusted as HTML.

Times: every stored time is UTC; the console shows them in the zone of the
`TZ` setting (`zone()`), converted here explicitly — never through the
process's local time, which TZ also sets for libc."""
from __future__ import annotations

import difflib
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup, escape

from menus import gsm7
from menus.problems import Problem


def gsm7_marked(text: str) -> Markup:
    """`text` escaped, with characters outside GSM-7 (they halve a page) and
    extension characters (they cost two) wrapped in <mark>."""
    out = []
    for ch in text or "":
        if ch in gsm7.EXTENSION:
            out.append(Markup('<mark class="gsm7-ext" title="counts as 2 characters">{}</mark>').format(ch))
        elif not gsm7.is_gsm7(ch):
            out.append(Markup('<mark class="non-gsm7" title="outside GSM-7: {}">{}</mark>').format(
                gsm7.describe(ch), ch if ch.isprintable() and not ch.isspace() else "\N{MIDDLE DOT}"))
        else:
            out.append(escape(ch))
    return Markup("").join(out)


def zone() -> ZoneInfo:
    """The zone this app's console shows times in (the `TZ` setting)."""
    return current_app.extensions["isoko"].settings.zone


def local(value: datetime, tz: ZoneInfo | None = None) -> datetime:
    """`value` (aware, UTC as stored) in the console's zone."""
    return value.astimezone(tz or zone())


def when(value: datetime | None) -> str:
    """A time as the console shows it: local, to the minute, with the zone's abbreviation."""
    return local(value).strftime("%Y-%m-%d %H:%M %Z") if value else ""


def stamp(value: datetime | None) -> str:
    """A time for a CSV file: ISO 8601 in the console's zone, with its offset."""
    return local(value).isoformat() if value else ""


def day_start(day: date, tz: ZoneInfo | None = None) -> datetime:
    """The UTC instant the local calendar `day` begins."""
    return datetime.combine(day, time.min, tzinfo=tz or zone()).astimezone(timezone.utc)


def register_filters(app) -> None:
    app.add_template_filter(gsm7_marked, "gsm7")
    app.add_template_filter(when, "when")
    app.add_template_global(lambda: str(zone()), "console_zone")


def problem_dict(problem: Problem) -> dict:
    return {"severity": problem.severity, "screen": problem.screen, "language": problem.language,
            "page": problem.page, "message": problem.message, "text": str(problem)}


def group_problems(problems: list[Problem], order: list[str] | None = None) -> list[dict]:
    """[{screen, problems, errors, warnings}], menu-level problems first, then
    the screens in definition order."""
    rank = {sid: i for i, sid in enumerate(order or [])}
    groups: dict[str | None, list[Problem]] = {}
    for problem in problems:
        groups.setdefault(problem.screen, []).append(problem)
    keys = sorted(groups, key=lambda k: (k is not None, rank.get(k, len(rank)), str(k)))
    return [{"screen": key, "problems": [problem_dict(p) for p in groups[key]],
             "errors": sum(p.severity == "error" for p in groups[key]),
             "warnings": sum(p.severity != "error" for p in groups[key])} for key in keys]


def diff_lines(old: str, new: str, old_name: str, new_name: str, context: int = 3) -> list[dict]:
    """A unified diff as [{kind, text}], kind in file/hunk/add/del/same."""
    out = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name,
                                     n=context, lineterm=""):
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append({"kind": kind, "text": line})
    return out
