"""MTN MoMo Open API: a small adapter over `requests` (no well-kept Python
client exists; the API is four calls).

    POST {url}/{product}/token/            Basic api_user:api_key -> {access_token, expires_in}
    POST {url}/collection/v1_0/requesttopay     X-Reference-Id, X-Callback-Url -> 202
    GET  {url}/collection/v1_0/requesttopay/{id} -> {status, reason, financialTransactionId, ...}
    POST {url}/disbursement/v1_0/transfer       X-Reference-Id, X-Callback-Url -> 202
    GET  {url}/disbursement/v1_0/transfer/{id}  -> the same shape, `payee` for `payer`

Every call carries `Ocp-Apim-Subscription-Key` and (but the token)
`X-Target-Environment`. The caller chooses the `X-Reference-Id` (a UUID4)
and stores it before calling: MTN refuses a second request with the same id
(409 RESOURCE_ALREADY_EXIST), so a retry after a timeout or a crash never
moves money twice; it answers ACCEPTED here, as the first did.

Like the SMS providers (`gateway/sms/providers/base.py`), the adapter never
raises for an API problem; every answer is one `Answer` whose `outcome` is:

- ACCEPTED: MTN took the request (202, or 409 for a reference already taken);
  the result comes later, by callback or status.
- PENDING: the status call says the payer has not answered yet.
- SUCCESSFUL / FAILED: final; FAILED carries MTN's `reason`
  (APPROVAL_REJECTED, EXPIRED, NOT_ENOUGH_FUNDS, PAYER_NOT_FOUND, ...).
- NOT_FOUND: the status call does not know the reference: the request never
  reached MTN, so sending it (with the same id) is safe.
- RETRY: transient (timeout, connection error, 429, 5xx): ask again later
  with the same reference id.
- REFUSED: permanent for this request (400, 401 after a fresh token, 403,
  other 4xx): asking again would fail the same way.

Thread-safe: tokens are cached per product until shortly before they expire.
"""
from __future__ import annotations

import enum
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from gateway.core.settings import MomoConfig

COLLECTION = "collection"
DISBURSEMENT = "disbursement"
TIMEOUT = (3.05, 15.0)  # connect, read: seconds
TOKEN_MARGIN = 60.0  # seconds before its expiry a token is renewed
SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    NOT_FOUND = "not_found"
    RETRY = "retry"
    REFUSED = "refused"

    @property
    def final(self) -> bool:
        """The transaction's result is known and will not change."""
        return self in (Outcome.SUCCESSFUL, Outcome.FAILED)


@dataclass(frozen=True)
class Answer:
    """What one call came to; `body` is the reply as received (for the history)."""

    outcome: Outcome
    status_code: int | None = None
    reason: str | None = None
    financial_id: str | None = None
    body: str | None = None

    @property
    def detail(self) -> str:
        return f"{self.outcome}" + (f" {self.reason}" if self.reason else "") + (
            f" (HTTP {self.status_code})" if self.status_code else "")


def new_reference() -> str:
    """A fresh X-Reference-Id (MTN requires a UUID4)."""
    return str(uuid.uuid4())


def party_id(phone: str) -> str:
    """An E.164 number as MTN's MSISDN party id (digits only, no '+')."""
    return phone.lstrip("+")


def amount(value: int) -> str:
    return str(int(value))


def reason_of(body: dict) -> str | None:
    """MTN's `reason`: a code string, or in older replies {"code", "message"}."""
    reason = body.get("reason")
    if isinstance(reason, dict):
        reason = reason.get("code") or reason.get("message")
    return str(reason)[:64] if reason else None


def callback_url(base: str, reference: str) -> str:
    """MOMO_CALLBACK_URL with the reference in its query: callback bodies do
    not always carry the X-Reference-Id they are about."""
    return f"{base}{'&' if '?' in base else '?'}reference={reference}"


def _snippet(text: str) -> str:
    return " ".join(text.split())[:500]


def classify_status(status_code: int, payload: Any, text: str) -> Answer:
    """A status reply (GET .../requesttopay/{id} or .../transfer/{id}), or a callback body."""
    if status_code == 404:
        return Answer(Outcome.NOT_FOUND, status_code, "RESOURCE_NOT_FOUND", body=text)
    if not 200 <= status_code < 300:
        return classify_error(status_code, payload, text)
    if not isinstance(payload, dict):
        return Answer(Outcome.RETRY, status_code, "unreadable_reply", body=text)
    status = str(payload.get("status") or "").upper()
    financial = payload.get("financialTransactionId")
    financial = str(financial) if financial else None
    if status == "SUCCESSFUL":
        return Answer(Outcome.SUCCESSFUL, status_code, None, financial, text)
    if status == "FAILED":
        return Answer(Outcome.FAILED, status_code, reason_of(payload) or "FAILED", financial, text)
    if status in ("PENDING", "CREATED", "ONGOING"):
        return Answer(Outcome.PENDING, status_code, None, body=text)
    return Answer(Outcome.RETRY, status_code, f"unknown_status_{status or 'none'}"[:64], body=text)


def classify_error(status_code: int | None, payload: Any, text: str) -> Answer:
    """A non-2xx reply: 409 duplicate reference is the first request's success."""
    code = payload.get("code") if isinstance(payload, dict) else None
    if status_code == 409 and code in (None, "RESOURCE_ALREADY_EXIST"):
        return Answer(Outcome.ACCEPTED, status_code, "RESOURCE_ALREADY_EXIST", body=text)
    reason = str(code)[:64] if code else f"http_{status_code}"
    if status_code is None or status_code == 429 or status_code >= 500:
        return Answer(Outcome.RETRY, status_code, reason, body=text)
    return Answer(Outcome.REFUSED, status_code, reason, body=text)


class MomoClient:
    """The four calls, with the token cached per product. Thread-safe."""

    def __init__(self, config: MomoConfig, *, timeout: float | tuple[float, float] = TIMEOUT,
                 session: requests.Session | None = None) -> None:
        self.config = config
        self.timeout = timeout
        self._local = threading.local()
        self._session = session
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}  # product -> (token, monotonic expiry)

    # --- the calls -------------------------------------------------------------------

    def request_to_pay(self, reference: str, *, phone: str, total: int, external_id: str,
                       payer_message: str, payee_note: str) -> Answer:
        body = {"amount": amount(total), "currency": self.config.currency, "externalId": external_id,
                "payer": {"partyIdType": "MSISDN", "partyId": party_id(phone)},
                "payerMessage": payer_message[:160], "payeeNote": payee_note[:160]}
        return self._create(COLLECTION, "requesttopay", reference, body)

    def request_to_pay_status(self, reference: str) -> Answer:
        return self._status(COLLECTION, "requesttopay", reference)

    def transfer(self, reference: str, *, phone: str, total: int, external_id: str,
                 payer_message: str, payee_note: str) -> Answer:
        body = {"amount": amount(total), "currency": self.config.currency, "externalId": external_id,
                "payee": {"partyIdType": "MSISDN", "partyId": party_id(phone)},
                "payerMessage": payer_message[:160], "payeeNote": payee_note[:160]}
        return self._create(DISBURSEMENT, "transfer", reference, body)

    def transfer_status(self, reference: str) -> Answer:
        return self._status(DISBURSEMENT, "transfer", reference)

    # --- plumbing --------------------------------------------------------------------

    def _create(self, product: str, resource: str, reference: str, body: dict) -> Answer:
        headers = {"X-Reference-Id": reference, "Content-Type": "application/json"}
        if self.config.callback_url:
            headers["X-Callback-Url"] = callback_url(self.config.callback_url, reference)
        url = f"{self.config.api_url}/{product}/v1_0/{resource}"
        answer, reply = self._authorised("POST", product, url, headers, body)
        if reply is None:
            return answer
        if reply.status_code in (200, 201, 202):
            return Answer(Outcome.ACCEPTED, reply.status_code, body=_snippet(reply.text))
        return classify_error(reply.status_code, _json(reply), _snippet(reply.text))

    def _status(self, product: str, resource: str, reference: str) -> Answer:
        url = f"{self.config.api_url}/{product}/v1_0/{resource}/{reference}"
        answer, reply = self._authorised("GET", product, url, {}, None)
        if reply is None:
            return answer
        return classify_status(reply.status_code, _json(reply), _snippet(reply.text))

    def _authorised(self, method: str, product: str, url: str, headers: dict,
                    body: dict | None) -> tuple[Answer | None, requests.Response | None]:
        """The reply to a call with a bearer token; a 401 drops the cached token
        and tries once more with a fresh one (it may have been revoked early)."""
        for fresh in (False, True):
            token = self._token(product, fresh=fresh)
            if isinstance(token, Answer):
                return token, None
            sent = {**headers, "Authorization": f"Bearer {token}",
                    "X-Target-Environment": self.config.target_environment,
                    SUBSCRIPTION_HEADER: self.config.subscription_key}
            reply = self._send(method, url, headers=sent, json=body)
            if isinstance(reply, Answer):
                return reply, None
            if reply.status_code != 401 or fresh:
                return None, reply
        raise AssertionError("unreachable")

    def _token(self, product: str, *, fresh: bool) -> str | Answer:
        now = time.monotonic()
        with self._lock:
            cached = self._tokens.get(product)
            if cached is not None and not fresh and cached[1] > now:
                return cached[0]
        reply = self._send("POST", f"{self.config.api_url}/{product}/token/",
                           auth=(self.config.api_user, self.config.api_key),
                           headers={SUBSCRIPTION_HEADER: self.config.subscription_key})
        if isinstance(reply, Answer):
            return reply
        payload = _json(reply)
        if reply.status_code != 200 or not isinstance(payload, dict) or not payload.get("access_token"):
            answer = classify_error(reply.status_code, payload, _snippet(reply.text))
            reason = f"token_{answer.reason}"[:64]
            outcome = Outcome.REFUSED if answer.outcome == Outcome.ACCEPTED else answer.outcome
            return Answer(outcome, reply.status_code, reason, body=answer.body)
        try:
            lifetime = float(payload.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        token = str(payload["access_token"])
        with self._lock:
            self._tokens[product] = (token, now + max(lifetime - TOKEN_MARGIN, 0.0))
        return token

    def _send(self, method: str, url: str, **kwargs) -> requests.Response | Answer:
        try:
            return self._http().request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout:
            return Answer(Outcome.RETRY, None, "connect_timeout")
        except requests.Timeout:
            # MTN may have taken it: the retry reuses the reference id, so a
            # taken request answers 409 and nothing is paid twice.
            return Answer(Outcome.RETRY, None, "timeout")
        except requests.ConnectionError:
            return Answer(Outcome.RETRY, None, "connection_error")
        except requests.RequestException as exc:
            return Answer(Outcome.RETRY, None, f"http_error_{type(exc).__name__}"[:64])

    def _http(self) -> requests.Session:
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def _json(reply: requests.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None
