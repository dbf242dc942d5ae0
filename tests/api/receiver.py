"""A webhook receiver for the tests: a real threaded HTTP server on
127.0.0.1 (an ephemeral port), as a buyer platform would run one.

It answers each POST with the next scripted status (then `default`, 200),
checks the `Isoko-Signature` with the secret it is given, and logs every
request. An event counts as *accepted* when the receiver answered 2xx to a
correctly signed delivery of it, deduplicated on the body's `id` as the
README tells receivers to do."""
from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gateway.api import signing


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    signed: bool  # the signature checked out

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self, default: int = 200) -> None:
        self.default = default
        self.secret: str | None = None
        self.requests: list[Received] = []
        self._script: deque[int] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/isoko/events"

    def script(self, *statuses: int) -> None:
        with self._lock:
            self._script.extend(statuses)

    def accepted(self) -> list[dict]:
        """The events accepted, once each (deduplicated on `id`)."""
        seen: dict[str, dict] = {}
        for request in self.requests:
            if request.signed and 200 <= request.status < 300:
                seen.setdefault(request.event["id"], request.event)
        return list(seen.values())

    def _answer(self) -> int:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                signed = receiver.secret is not None and signing.verify(
                    receiver.secret, self.headers.get(signing.HEADER, ""), body)
                status = receiver._answer()
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()),
                                                      body, status, signed))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):  # quiet
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
