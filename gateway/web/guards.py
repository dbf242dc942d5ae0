"""What every request meets before its view: a bound on the body, and no NUL.

Body limit. Every route reads at most `MAX_BODY_BYTES` (the console and the
simulator `CONSOLE_MAX_BODY_BYTES`): a body that declares more is a 413
before a byte of it is read, and a chunked one (no Content-Length) is read
here up to one byte past the limit: over it, a 413; within it, the views
get it as a body of known length. Werkzeug's own bound on a chunked stream
(`request.max_content_length`) stops at the limit without a word, and a
form cut short would be parsed as if whole. No request makes the process
hold more than the limit in memory. The buyer
API keeps its own, smaller bound (`gateway.api.validation.BODY_MAX`).

NUL bytes. A NUL in text reaches PostgreSQL as an error (it cannot store
one), so it is dealt with here, once, by who sent it:

- the provider's callbacks (`/at/...`) and MTN's (`/momo/...`) are let
  through: their parsers replace a NUL in free text (`parsers.clean_text`)
  and store the rest, because a refusal only makes the provider post the
  same thing again, for hours;
- everyone else (the buyer API, the console, the simulator) gets a 400 for a
  NUL in the query string or a form field: a person or a program that can
  read the answer and fix the request.

Bytes that are not UTF-8 never raise: Werkzeug decodes the query string and
forms with replacement, so they reach the views as text.
"""
from __future__ import annotations

import io

from flask import Flask, Response, request

from gateway.api.blueprint import PREFIX as API_PREFIX
from gateway.api.errors import error_response
from gateway.core.settings import Settings

# Paths whose forms carry whole documents (menu YAML, catalogue files).
CONSOLE_PREFIXES = ("/admin", "/simulator")
# Machines that resend whatever is refused: their NULs are cleaned, not refused.
PROVIDER_PREFIXES = ("/at/", "/momo/")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def install(app: Flask, settings: Settings) -> None:
    """Register the checks to run first on every request (before the
    callback-token check and CSRF, so nothing reads a body before them)."""

    def guard() -> Response | tuple | None:
        limit = body_limit(request.path, settings)
        request.max_content_length = limit  # bounds every read of the body, chunked included
        if request.content_length is not None and request.content_length > limit:
            return _refuse(413, "request_entity_too_large", f"the body is over {limit} bytes")
        if request.content_length is None and not _buffer_chunked(limit):
            return _refuse(413, "request_entity_too_large", f"the body is over {limit} bytes")
        if not request.path.startswith(PROVIDER_PREFIXES) and _has_nul():
            return _refuse(400, "nul_byte", "a NUL character is not allowed in a request")
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, guard)


def body_limit(path: str, settings: Settings) -> int:
    """The largest body, in bytes, a request to `path` may carry."""
    if path.startswith(CONSOLE_PREFIXES):
        return settings.console_max_body_bytes
    return settings.max_body_bytes


def _buffer_chunked(limit: int) -> bool:
    """Read a body sent without a Content-Length into memory, at most
    `limit` + 1 bytes; False when it is over `limit`. Only a stream the
    server terminates (`wsgi.input_terminated`) can be read safely; without
    it Werkzeug hands the views an empty body, so there is nothing to read."""
    environ = request.environ
    if not environ.get("wsgi.input_terminated"):
        return True
    stream, chunks, size = environ["wsgi.input"], [], 0
    while size <= limit:  # bounded: every pass reads at least one byte or stops
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return False
    environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
    environ["CONTENT_LENGTH"] = str(size)
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body now has a length
    return True


def _has_nul() -> bool:
    """A NUL in the path, the query string (raw, so `%00` in a name counts) or a form field."""
    if "\x00" in request.path:
        return True
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        return True
    if request.mimetype not in FORM_TYPES:
        return False
    return any("\x00" in name or "\x00" in value for name, value in request.form.items(multi=True))


def _refuse(status: int, code: str, message: str) -> Response | tuple:
    """The refusal in the shape the path's clients read: the API's JSON error,
    else plain text (the providers, the console's forms)."""
    if request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"):
        return error_response(status, code, message)
    return Response(message, status=status, mimetype="text/plain")
