"""A loopback MTN MoMo Open API: a real threaded HTTP server on 127.0.0.1.

    with MomoSimulator() as sim:
        client = MomoClient(sim.config())
        ...
        assert [t.amount for t in sim.transactions("transfer")] == [970]

It speaks what `gateway.payments.momo` calls, as MTN does:
- `POST /{collection,disbursement}/token/`: Basic api_user:api_key and the
  subscription key, else 401 {"error": "login_failed"}; 200
  {access_token, token_type, expires_in} (`token_lifetime` seconds).
- `POST /collection/v1_0/requesttopay`, `POST /disbursement/v1_0/transfer`:
  bearer token (401 {"code": "UNAUTHORIZED"} for an unknown or expired one),
  X-Target-Environment, X-Reference-Id a UUID (400 otherwise); 202 with no
  body; a reference seen before: 409 {"code": "RESOURCE_ALREADY_EXIST", ...}.
- `GET .../requesttopay/{id}`, `GET .../transfer/{id}`: 200 {amount,
  currency, externalId, payer|payee, status, reason?, financialTransactionId?};
  404 {"code": "RESOURCE_NOT_FOUND", ...} for a reference never taken.

What a create call gets, first match wins: the next scripted call behaviour
(`script_call(...)`: `HttpError(500)`, `Hang(s)`, `TakeThenHang(s)` = take the
request then answer nothing, as a reply lost on the way); else 202. What the
taken transaction becomes: the next scripted result (`script_result(...)`:
`Successful()`, `Failed("NOT_ENOUGH_FUNDS")`, `Pending()`); else `default`.
`finish(reference, result)` settles a pending one later. Status calls may be
scripted too (`script_status(HttpError(503))`).

With `callbacks` on, a request carrying X-Callback-Url gets one callback
(PUT, as MTN sends them, or `callback_method`) with the status body once its
result is final; `callback(reference, url)` sends one (again) by hand.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from gateway.core.settings import MomoConfig

SUBSCRIPTION_KEY = "sim-subscription-key"
API_USER = "3c1b7f54-8f1e-4f2a-9a36-9d1c0b6a1e01"
API_KEY = "sim-api-key"
ENVIRONMENT = "sandbox"


@dataclass(frozen=True)
class HttpError:
    status: int = 500
    body: dict = field(default_factory=lambda: {"code": "INTERNAL_PROCESSING_ERROR",
                                                "message": "An internal error occurred."})


@dataclass(frozen=True)
class Hang:
    """Answer nothing for `seconds` (bounded by `max_hang` and shutdown)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class TakeThenHang:
    """Take the request (the money moves) but never answer: the reply is lost."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Successful:
    pass


@dataclass(frozen=True)
class Failed:
    reason: str = "APPROVAL_REJECTED"


@dataclass(frozen=True)
class Pending:
    pass


@dataclass
class Transaction:
    kind: str  # "requesttopay" or "transfer"
    reference: str
    amount: int
    currency: str
    external_id: str
    party: str
    callback_url: str | None
    status: str = "PENDING"
    reason: str | None = None
    financial_id: str | None = None
    at: float = field(default_factory=time.time)

    def body(self) -> dict:
        side = "payer" if self.kind == "requesttopay" else "payee"
        body = {"amount": str(self.amount), "currency": self.currency, "externalId": self.external_id,
                side: {"partyIdType": "MSISDN", "partyId": self.party}, "status": self.status}
        if self.financial_id:
            body["financialTransactionId"] = self.financial_id
        if self.reason:
            body["reason"] = self.reason
        if self.kind == "requesttopay":
            body["referenceId"] = self.reference
        return body


@dataclass
class Call:
    method: str
    path: str
    reference: str | None
    answer: str  # "202", "409", "500", "hang", ...
    at: float = field(default_factory=time.time)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MomoSimulator:
    """See the module docstring. Thread-safe."""

    def __init__(self, *, token_lifetime: int = 3600, max_hang: float = 5.0,
                 callbacks: bool = False, callback_method: str = "PUT") -> None:
        self.token_lifetime, self.max_hang = token_lifetime, max_hang
        self.callbacks, self.callback_method = callbacks, callback_method
        self.default: object = Successful()
        self.calls: list[Call] = []
        self.tokens_issued: list[str] = []
        self.callbacks_sent: list[tuple[str, int | None]] = []  # (reference, status answered)
        self._transactions: dict[str, Transaction] = {}
        self._tokens: dict[str, float] = {}  # token -> expiry (time.time)
        self._call_script: deque = deque()
        self._status_script: deque = deque()
        self._results: deque = deque()
        self._ids = itertools.count(1_000_001)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------

    def __enter__(self) -> MomoSimulator:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="momo-simulator")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def config(self, **changes) -> MomoConfig:
        """A MomoConfig pointed at this simulator."""
        values = {"api_url": self.url, "subscription_key": SUBSCRIPTION_KEY, "api_user": API_USER,
                  "api_key": API_KEY, "target_environment": ENVIRONMENT, "currency": "RWF"}
        return MomoConfig(**{**values, **changes})

    def script_call(self, *behaviours: object) -> None:
        with self._lock:
            self._call_script.extend(behaviours)

    def script_status(self, *behaviours: object) -> None:
        with self._lock:
            self._status_script.extend(behaviours)

    def script_result(self, *results: object) -> None:
        with self._lock:
            self._results.extend(results)

    def transactions(self, kind: str | None = None) -> list[Transaction]:
        with self._lock:
            return [t for t in self._transactions.values() if kind is None or t.kind == kind]

    def transaction(self, reference: str) -> Transaction | None:
        with self._lock:
            return self._transactions.get(reference)

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def finish(self, reference: str, result: object) -> None:
        """Settle a pending transaction now (and send its callback, if on)."""
        with self._lock:
            transaction = self._transactions[reference]
            self._apply(transaction, result)
        if self.callbacks and transaction.callback_url:
            self.callback(reference, transaction.callback_url)

    def callback(self, reference: str, url: str, method: str | None = None) -> int | None:
        """Send the transaction's status body to `url`, as MTN does; returns the status answered."""
        body = self.transaction(reference).body()
        try:
            status = requests.request(method or self.callback_method, url, json=body, timeout=5).status_code
        except requests.RequestException:
            status = None
        with self._lock:
            self.callbacks_sent.append((reference, status))
        return status

    # --- the handler's side ------------------------------------------------------------

    def _apply(self, transaction: Transaction, result: object) -> None:
        if isinstance(result, Successful):
            transaction.status, transaction.reason = "SUCCESSFUL", None
            transaction.financial_id = str(next(self._ids))
        elif isinstance(result, Failed):
            transaction.status, transaction.reason = "FAILED", result.reason
        else:
            transaction.status, transaction.reason = "PENDING", None

    def _take(self, transaction: Transaction) -> bool:
        """Record a new transaction and settle it as scripted; False for a duplicate."""
        with self._lock:
            if transaction.reference in self._transactions:
                return False
            self._transactions[transaction.reference] = transaction
            result = self._results.popleft() if self._results else self.default
            self._apply(transaction, result)
        if self.callbacks and transaction.callback_url and transaction.status != "PENDING":
            threading.Thread(target=self.callback, args=(transaction.reference, transaction.callback_url),
                             daemon=True).start()
        return True

    def _next(self, script: deque) -> object | None:
        with self._lock:
            return script.popleft() if script else None

    def _log(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _issue_token(self) -> str:
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        with self._lock:
            self._tokens[token] = time.time() + self.token_lifetime
            self.tokens_issued.append(token)
        return token

    def _token_ok(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        with self._lock:
            return self._tokens.get(header[len("Bearer "):], 0) > time.time()


class _Handler(BaseHTTPRequestHandler):
    sim: MomoSimulator
    protocol_version = "HTTP/1.1"
    timeout = 5

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass

    def _reply(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        try:
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _hang(self, seconds: float) -> None:
        self.sim._stop.wait(min(seconds, self.sim.max_hang))
        self.close_connection = True

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def do_POST(self) -> None:  # noqa: N802
        sim, path = self.sim, self.path.split("?")[0]
        body = self._body()
        if self.headers.get("Ocp-Apim-Subscription-Key") != SUBSCRIPTION_KEY:
            sim._log(Call("POST", path, None, "401"))
            return self._reply(401, {"statusCode": 401, "message": "Access denied due to invalid "
                                     "subscription key."})
        product = path.strip("/").split("/")[0]
        if path in ("/collection/token/", "/disbursement/token/"):
            expected = base64.b64encode(f"{API_USER}:{API_KEY}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                sim._log(Call("POST", path, None, "401"))
                return self._reply(401, {"error": "login_failed", "error_description": "Login failed"})
            sim._log(Call("POST", path, None, "200"))
            return self._reply(200, {"access_token": sim._issue_token(), "token_type": "access_token",
                                     "expires_in": sim.token_lifetime})
        kinds = {"/collection/v1_0/requesttopay": "requesttopay", "/disbursement/v1_0/transfer": "transfer"}
        if path not in kinds:
            sim._log(Call("POST", path, None, "404"))
            return self._reply(404, {"code": "RESOURCE_NOT_FOUND", "message": "Not found."})
        kind = kinds[path]
        reference = self.headers.get("X-Reference-Id")
        if not sim._token_ok(self.headers.get("Authorization")):
            sim._log(Call("POST", path, reference, "401"))
            return self._reply(401, {"code": "UNAUTHORIZED", "message": "Invalid access token."})
        if self.headers.get("X-Target-Environment") != ENVIRONMENT or product not in path:
            sim._log(Call("POST", path, reference, "403"))
            return self._reply(403, {"code": "NOT_ALLOWED_TARGET_ENVIRONMENT",
                                     "message": "Access to target environment is forbidden."})
        try:
            uuid.UUID(reference or "")
        except ValueError:
            sim._log(Call("POST", path, reference, "400"))
            return self._reply(400, {"code": "INVALID_REFERENCE_ID", "message": "Invalid reference id."})
        party = (body.get("payer") if kind == "requesttopay" else body.get("payee")) or {}
        try:
            total = int(str(body.get("amount")))
        except ValueError:
            total = -1
        if total <= 0 or body.get("currency") != "RWF" or not str(party.get("partyId", "")).isdigit():
            sim._log(Call("POST", path, reference, "400"))
            return self._reply(400, {"code": "INVALID_REQUEST", "message": "Bad request."})
        behaviour = sim._next(sim._call_script)
        if isinstance(behaviour, Hang):
            sim._log(Call("POST", path, reference, "hang"))
            return self._hang(behaviour.seconds)
        if isinstance(behaviour, HttpError):
            sim._log(Call("POST", path, reference, str(behaviour.status)))
            return self._reply(behaviour.status, behaviour.body)
        transaction = Transaction(kind, reference, total, body["currency"], str(body.get("externalId")),
                                  str(party["partyId"]), self.headers.get("X-Callback-Url"))
        if not sim._take(transaction):
            sim._log(Call("POST", path, reference, "409"))
            return self._reply(409, {"code": "RESOURCE_ALREADY_EXIST",
                                     "message": "Duplicated reference id. Creation of resource failed."})
        if isinstance(behaviour, TakeThenHang):
            sim._log(Call("POST", path, reference, "taken-hang"))
            return self._hang(behaviour.seconds)
        sim._log(Call("POST", path, reference, "202"))
        return self._reply(202)

    def do_GET(self) -> None:  # noqa: N802
        sim, path = self.sim, self.path.split("?")[0]
        prefix, _, reference = path.rpartition("/")
        if self.headers.get("Ocp-Apim-Subscription-Key") != SUBSCRIPTION_KEY \
                or not sim._token_ok(self.headers.get("Authorization")):
            sim._log(Call("GET", path, reference, "401"))
            return self._reply(401, {"code": "UNAUTHORIZED", "message": "Invalid access token."})
        kinds = {"/collection/v1_0/requesttopay": "requesttopay", "/disbursement/v1_0/transfer": "transfer"}
        behaviour = sim._next(sim._status_script)
        if isinstance(behaviour, Hang):
            sim._log(Call("GET", path, reference, "hang"))
            return self._hang(behaviour.seconds)
        if isinstance(behaviour, HttpError):
            sim._log(Call("GET", path, reference, str(behaviour.status)))
            return self._reply(behaviour.status, behaviour.body)
        transaction = sim.transaction(reference)
        if prefix not in kinds or transaction is None or transaction.kind != kinds[prefix]:
            sim._log(Call("GET", path, reference, "404"))
            return self._reply(404, {"code": "RESOURCE_NOT_FOUND",
                                     "message": "Requested resource was not found."})
        sim._log(Call("GET", path, reference, "200"))
        return self._reply(200, transaction.body())
