"""`POST /at/ussd` answered without Flask's request cycle, when nothing about
the request needs it.

A USSD hop is the one request the gateway serves thousands of times a
minute, and Flask's cycle around it (request and app contexts, URL
matching, the before/after hooks, the cookie session, the form parser,
the response object) cost more than Isoko's own work on a navigation hop.
This WSGI layer sits in front of the Flask app and answers an ordinary
hop itself, with the very functions the Flask view uses: the form parsed
as Werkzeug parses it, `parsers.parse_ussd_hop`, `callbacks_guard.admits`,
`ussd.answer`, the same metrics.

It answers only a request it can answer exactly as Flask would: `POST` to
`/at/ussd`, a url-encoded body with a Content-Length within MAX_BODY_BYTES,
admitted by the callback guard, a body that decodes and parses into a
valid hop, and that does not ask for a draft (the simulator's field, whose
permission check reads the console's session). Everything else goes to
Flask untouched: a refusal (400, 403, 413), a draft dial, a chunked or
multipart body, another path or method. A body already
read is handed back to Flask as it was, so Flask refuses it with its own
words. The tests drive every such case through both ways and compare
(`tests/web/test_ussd_fast.py`).
"""
from __future__ import annotations

import io
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict

from gateway.channels.africastalking.parsers import parse_ussd_hop
from gateway.channels.africastalking.ussd import answer
from gateway.web import callbacks_guard
from gateway.web.simulator import DRAFT_FIELD

PATH = "/at/ussd"
FORM = "application/x-www-form-urlencoded"
# Werkzeug's own error handler for undecodable %-escapes (registered when
# werkzeug is imported): the form is text exactly as `request.form` has it.
URL_QUOTE_ERRORS = "werkzeug.url_quote"


class FastUssd:
    """WSGI middleware: ordinary hops answered here, the rest by `app`."""

    def __init__(self, app, services, metrics):
        self.app, self.services, self.metrics = app, services, metrics
        self.settings = services.settings
        self.guarded = bool(self.settings.callback_token or self.settings.access.callback_networks)

    def __call__(self, environ, start_response):
        length = self._ordinary(environ)
        if length is None:
            return self.app(environ, start_response)
        body = _read(environ["wsgi.input"], length)
        hop = _hop(body)
        if hop is None:  # Flask reads the same bytes: its 400, or a draft dial
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        reply, answered = answer(self.services.hops, hop)
        if not answered:
            self.metrics.unanswered()
        data = reply.encode()
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    def _ordinary(self, environ) -> int | None:
        """The body's length when this layer may answer the request, else None."""
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return None
        if environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower() != FORM:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if not (length.isascii() and length.isdigit()) or int(length) > self.settings.max_body_bytes:
            return None
        if self.guarded:
            token = _token(environ.get("QUERY_STRING", ""))
            if token is None or not callbacks_guard.admits(self.settings, environ.get("REMOTE_ADDR"), token):
                return None
        return int(length)


def install(app, services, metrics) -> None:
    """Put the layer in front of `app`'s Flask cycle (inside ProxyFix, which
    `callbacks_guard.install` adds after, so the client's address is the
    one the proxies saw)."""
    app.wsgi_app = FastUssd(app.wsgi_app, services, metrics)


def _read(stream, length: int) -> bytes:
    """`length` bytes of the body, fewer if the client sent fewer (bounded:
    every pass reads at least one byte or stops)."""
    chunks, size = [], 0
    while size < length:
        chunk = stream.read(length - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _hop(body: bytes):
    """The hop in `body`, or None when Flask's view must answer it: a body
    it would refuse (one that is not UTF-8 reaches Werkzeug's parser as an
    empty form), or a draft dial (`DraftMenus` reads Flask's request)."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    form = MultiDict(parse_qsl(text, keep_blank_values=True, errors=URL_QUOTE_ERRORS))
    if DRAFT_FIELD in form:
        return None
    hop = parse_ussd_hop(form)
    return None if isinstance(hop, str) else hop


def _token(query: str) -> str | None:
    """`?token=` as `request.args.get("token", "")` reads it (the first one);
    None for a query string Werkzeug could not decode (Flask's business)."""
    try:
        query = query.encode("latin1").decode()
    except UnicodeError:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True, errors=URL_QUOTE_ERRORS):
        if name == "token":
            return value
    return ""
