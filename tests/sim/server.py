"""The provider simulator: a real threaded HTTP server on 127.0.0.1.

It speaks `POST /version1/messaging` as Africa's Talking does (form fields
`username`, `to`, `message`, `from`, `enqueue`, `bulkSMSMode`; header
`apiKey`): a wrong key or username gets 401 with a plain-text body; a send
gets 201 with `Content-Type: application/json` exactly (the SDK returns the
raw text for anything else) and the SMSMessageData/Recipients structure,
message ids `ATXid_<n>`, cost `RWF 10.0000`.

What a request gets, first match wins:
1. the next scripted behaviour (`script(...)`, a FIFO shared by all numbers);
2. the behaviour set for the number (`numbers[to] = ...`);
3. `default` (Status(101): accepted).

Behaviours: `Status(code)` (per-recipient status code: 101 accepted, 405
InsufficientBalance, 403 InvalidPhoneNumber, 500 InternalServerError, ...),
`HttpError(503)` (a non-2xx reply), `WholeFailure("InvalidSenderId")` (a 201
with no recipients), `Hang(seconds)` (answers nothing for `seconds`, bounded
by `max_hang` and by shutdown, then closes the connection), `Late(seconds)`
(takes the message, counted in `accepted`, then answers its 201 only after
`seconds`, bounded the same way: past the client's read timeout, the send
the client cannot know went out). `delay` slows every answer down (e.g. 0.05
for a provider answering in 50 ms); a message is taken after the delay, so
a client that gives up during it may still have sent it, as with the real
provider. A wrong key is refused before anything is taken: change `api_key`
to rotate it.

Delivery reports: with `report_url` set (a gateway's
`/at/sms/delivery?token=...`), every accepted message gets a `Success`
report posted there `report_delay` seconds later, from a background
thread, as the provider does (`reports_sent` counts them).

Every request is logged in `requests`; every accepted message in `accepted`
(to, text, sender, message id, time). Leaving the `with` block always stops
the server, also while requests hang.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import requests

STATUS_NAMES = {
    100: "Processed", 101: "Success", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId",
    403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 405: "InsufficientBalance",
    406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
    500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}
ACCEPTED = frozenset({100, 101, 102})
COST = "RWF 10.0000"


@dataclass(frozen=True)
class Status:
    """Answer 201 with this per-recipient status code."""

    code: int = 101


@dataclass(frozen=True)
class HttpError:
    """Answer with a non-2xx status and a plain-text body."""

    status: int = 503
    body: str = "Service Unavailable"


@dataclass(frozen=True)
class WholeFailure:
    """Answer 201 with an empty recipient list and this Message."""

    message: str = "InvalidSenderId"


@dataclass(frozen=True)
class Hang:
    """Answer nothing for `seconds` (bounded), then drop the connection."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Late:
    """Take the message, then answer 201 only after `seconds` (bounded)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Accepted:
    to: str
    text: str
    sender: str | None
    message_id: str
    at: float  # time.time() when accepted


@dataclass
class Request:
    to: list[str]
    text: str
    sender: str | None
    form: dict
    answer: str  # "201", "401", "503", "hang", ...
    at: float = field(default_factory=time.time)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # many sends at once must not overflow the accept backlog


class ProviderSimulator:
    """See the module docstring. Thread-safe."""

    def __init__(self, username: str = "isoko", api_key: str = "test-api-key", *,
                 delay: float = 0.0, max_hang: float = 5.0) -> None:
        self.username, self.api_key = username, api_key
        self.delay, self.max_hang = delay, max_hang
        self.default: object = Status(101)
        self.numbers: dict[str, object] = {}
        self.accepted: list[Accepted] = []
        self.requests: list[Request] = []
        self._script: deque = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.report_url: str | None = None
        self.report_delay = 0.2
        self.reports_sent = 0
        self.arrivals = 0  # requests received, counted before any delay (in flight: minus `requests`)
        self._report_threads: list[threading.Thread] = []

    # --- control ---------------------------------------------------------------------

    def __enter__(self) -> ProviderSimulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="provider-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # wakes hanging handlers and pending reports
        for thread in list(self._report_threads):
            thread.join(timeout=6)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The base URL to give the SDK (AT_API_URL): it posts to {url}/version1/messaging."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *behaviours: object) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._script.extend(behaviours)

    def received(self, to: str | None = None) -> list[Accepted]:
        """Accepted messages (to one number, or all)."""
        with self._lock:
            return [m for m in self.accepted if to is None or m.to == to]

    def in_flight(self) -> int:
        """Requests received and not answered (logged) yet."""
        with self._lock:
            return self.arrivals - len(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.accepted.clear()
            self.requests.clear()
            self._script.clear()

    # --- delivery reports --------------------------------------------------------------

    @staticmethod
    def report_form(message_id: str, status: str = "Success", *, phone: str = "+250788000001",
                    failure_reason: str | None = None, network_code: str = "63510",
                    retry_count: int = 0) -> dict:
        """The form of a delivery report as the provider posts it."""
        form = {"id": message_id, "status": status, "phoneNumber": phone,
                "networkCode": network_code, "retryCount": str(retry_count)}
        if failure_reason:
            form["failureReason"] = failure_reason
        return form

    def report(self, url: str, message_id: str, status: str = "Success", **kwargs) -> int:
        """POST a delivery report to `url` (a loopback gateway); returns the HTTP status."""
        return requests.post(url, data=self.report_form(message_id, status, **kwargs), timeout=5).status_code

    # --- the handler's side ---------------------------------------------------------

    def _behaviour(self, to: str) -> object:
        with self._lock:
            if self._script:
                return self._script.popleft()
            return self.numbers.get(to, self.default)

    def _log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _accept(self, to: str, text: str, sender: str | None) -> str:
        with self._lock:
            message_id = f"ATXid_{next(self._ids)}"
            self.accepted.append(Accepted(to, text, sender, message_id, time.time()))
            url = self.report_url
        if url:
            thread = threading.Thread(target=self._send_report, args=(url, message_id, to),
                                      name="provider-simulator-report", daemon=True)
            self._report_threads.append(thread)
            thread.start()
        return message_id

    def _send_report(self, url: str, message_id: str, to: str) -> None:
        if self._stop.wait(self.report_delay):
            return
        for _ in range(3):  # bounded, as the provider retries a little
            try:
                if self.report(url, message_id, "Success", phone=to) == 200:
                    with self._lock:
                        self.reports_sent += 1
                    return
            except requests.RequestException:
                pass
            if self._stop.wait(0.5):
                return


class _Handler(BaseHTTPRequestHandler):
    sim: ProviderSimulator
    protocol_version = "HTTP/1.1"  # keep-alive, as the provider's API does
    timeout = 5  # seconds an idle kept-alive connection is held open
    # Headers and body in one segment, sent at once: with Nagle's algorithm a
    # separate body waits for the client's delayed ACK (40 ms) on keep-alive.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass

    def _reply(self, status: int, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout)
        if self.sim._stop.is_set():
            self.close_connection = True

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        sim = self.sim
        with sim._lock:
            sim.arrivals += 1
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8"),
                                              keep_blank_values=True).items()}
        to = [n for n in form.get("to", "").split(",") if n]
        record = Request(to, form.get("message", ""), form.get("from"), form, "")
        if self.path.split("?")[0] != "/version1/messaging":
            record.answer = "404"
            sim._log(record)
            return self._reply(404, "Not Found", "text/plain")
        if self.headers.get("apiKey") != sim.api_key or form.get("username") != sim.username:
            record.answer = "401"
            sim._log(record)
            return self._reply(401, "The supplied authentication is invalid", "text/plain")
        if sim.delay:
            sim._stop.wait(sim.delay)
        behaviour = sim._behaviour(to[0] if to else "")
        if isinstance(behaviour, Hang):
            record.answer = "hang"
            sim._log(record)
            sim._stop.wait(min(behaviour.seconds, sim.max_hang))
            self.close_connection = True
            return None
        if isinstance(behaviour, Late):
            record.answer = "late"
            sim._log(record)
            message_id = sim._accept(to[0], record.text, record.sender)
            sim._stop.wait(min(behaviour.seconds, sim.max_hang))
            body = {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: RWF 10.0000", "Recipients": [
                {"statusCode": 101, "number": to[0], "status": "Success", "cost": COST,
                 "messageId": message_id}]}}
            self.close_connection = True
            return self._reply(201, json.dumps(body), "application/json")
        if isinstance(behaviour, HttpError):
            record.answer = str(behaviour.status)
            sim._log(record)
            return self._reply(behaviour.status, behaviour.body, "text/plain")
        if isinstance(behaviour, WholeFailure):
            record.answer = "201-empty"
            sim._log(record)
            body = {"SMSMessageData": {"Message": behaviour.message, "Recipients": []}}
            return self._reply(201, json.dumps(body), "application/json")
        code = behaviour.code if isinstance(behaviour, Status) else 101
        recipients = []
        for number in to:
            if code in ACCEPTED:
                message_id = sim._accept(number, record.text, record.sender)
                recipients.append({"statusCode": code, "number": number, "status": STATUS_NAMES[code],
                                   "cost": COST, "messageId": message_id})
            else:
                recipients.append({"statusCode": code, "number": number,
                                   "status": STATUS_NAMES.get(code, "Failed"), "cost": "0",
                                   "messageId": "None"})
        record.answer = f"201-{code}"
        sim._log(record)
        accepted = sum(1 for r in recipients if r["statusCode"] in ACCEPTED)
        body = {"SMSMessageData": {"Message": f"Sent to {accepted}/{len(to)} Total Cost: "
                                              f"RWF {10 * accepted:.4f}",
                                   "Recipients": recipients}}
        return self._reply(201, json.dumps(body), "application/json")
