"""What every market page shares: masking phone numbers for viewers, query
string filters, keyset pages (newest first) and CSV streamed in batches.

A page costs the same with 100,000 rows: lists go by keyset on the integer
primary key (`?before=ID` / `?after=ID`), never by offset.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask import Response, abort, request, stream_with_context
from sqlalchemy import select

from gateway.console.auth import current_operator, services
from gateway.core.phones import mask
from gateway.market.models import Product
from gateway.operators.models import Role

PAGE_SIZE = 50
CSV_BATCH = 1000
_PHONE_IN_TEXT = re.compile(r"\+?\d{9,15}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hides_phones() -> bool:
    """True when the operator of this request sees masked numbers (viewers)."""
    op = current_operator()
    return op is None or not op.can(Role.EDITOR)


def shown_phone(value: str | None, masked: bool) -> str:
    """A phone number as the page shows it: masked when `masked`."""
    if not value:
        return ""
    return mask(value) if masked else value


def shown_text(value: str | None, masked: bool) -> str:
    """Free text (an SMS) with any phone number in it masked for viewers."""
    if not value:
        return ""
    return _PHONE_IN_TEXT.sub(lambda m: mask(m.group(0)), value) if masked else value


def query_choice(name: str, allowed) -> str | None:
    """The query-string filter `name`, None when empty; 400 when not in `allowed`."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        abort(400, description=f"Unknown {name}: choose one from the list.")
    return value


def query_day(name: str) -> date | None:
    """The query-string date `name` (ISO), None when empty; 400 when malformed."""
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, description=f"{name} must be a date like 2026-01-31.")


def query_cursor(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and value > 0 else None


def keyset_page(session, stmt, key):
    """One page of `stmt` by keyset on the integer column `key`, newest first.

    Returns (rows, newer_cursor, older_cursor): pass `after=newer_cursor` for
    the previous page and `before=older_cursor` for the next."""
    before, after = query_cursor("before"), query_cursor("after")
    if after is not None:
        rows = session.execute(stmt.where(key > after).order_by(key.asc()).limit(PAGE_SIZE + 1)).all()
        has_newer = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        has_older = True
    else:
        if before is not None:
            stmt = stmt.where(key < before)
        rows = session.execute(stmt.order_by(key.desc()).limit(PAGE_SIZE + 1)).all()
        has_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_newer = before is not None
    ids = [r[0].id for r in rows]
    return rows, (ids[0] if ids and has_newer else None), (ids[-1] if ids and has_older else None)


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(filename: str, header: list[str], stmt, key, row_fn) -> Response:
    """Stream `stmt` as CSV in keyset batches (newest first)."""
    db = services().db

    def generate():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        yield buf.getvalue()
        last = None
        while True:
            page = stmt if last is None else stmt.where(key < last)
            with db.session() as s:
                rows = s.execute(page.order_by(key.desc()).limit(CSV_BATCH)).all()
                buf.seek(0)
                buf.truncate()
                for row in rows:
                    writer.writerow(row_fn(row))
                last = rows[-1][0].id if rows else None
            if buf.getvalue():
                yield buf.getvalue()
            if len(rows) < CSV_BATCH:
                return

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def product_names(session) -> dict[int, str]:
    """Product id -> English name, for rows that carry only the id."""
    return {p.id: p.name_en for p in session.scalars(select(Product))}
