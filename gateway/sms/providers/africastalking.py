"""Africa's Talking through its official SDK (`africastalking==2.0.3`, pinned).

The SMS service is constructed here, never through `africastalking.initialize`
(module-level singletons that every later `initialize` rebuilds). A subclass
touches two private names of the SDK, which is why the version is pinned:

- `_init_service`: the SDK has no public base-URL setting; with `base_url`
  (settings.at_api_url) the service posts to `{base_url}/version1/messaging`,
  for the sandbox or the loopback simulator of the tests.
- `_Service__make_post_request` (the SDK's private POST helper, a plain
  `requests.post`): replaced by the same POST on a `requests.Session` kept
  per thread, so connections (and TLS sessions) to the provider are reused
  instead of opened for every SMS, and the HTTP status of the reply is
  remembered, because a non-2xx reply raises `AfricasTalkingException(body)`
  without its status and 429/5xx (retry) must be told from 401/4xx
  (permanent). The SDK still builds the request and reads the reply.

The SDK is called synchronously (its callback mode starts a thread and loses
errors); the send job runs several sends at once from its own threads.
`enqueue` is off by default: the gateway queues on its side already, and
without it the reply carries each recipient's real status.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

import requests
from africastalking.Service import DEFAULT_TIMEOUT_S, AfricasTalkingException
from africastalking.SMS import SMSService

from gateway.sms.providers.base import (
    SendResult,
    classify_http,
    classify_recipient,
    classify_whole_request,
)

log = logging.getLogger(__name__)

NAME = "africastalking"


class _SMSService(SMSService):
    """The SDK's SMS service with a configurable base URL and the reply status kept."""

    def __init__(self, username: str, api_key: str, base_url: str | None) -> None:
        # Set before super().__init__, which calls _init_service.
        self._isoko_base_url = base_url.rstrip("/") if base_url else None
        self._isoko_last = threading.local()
        super().__init__(username, api_key)

    def _init_service(self) -> None:
        super()._init_service()
        if self._isoko_base_url:
            self._baseUrl = self._isoko_base_url + "/version1"
            self._contentUrl = self._baseUrl

    def _Service__make_post_request(self, url, headers, data, params, callback=None,  # noqa: N802
                                    timeout=DEFAULT_TIMEOUT_S):
        local = self._isoko_last
        local.status = None
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        response = session.post(url=url, headers=headers, params=params, data=data, timeout=timeout)
        local.status = response.status_code
        if callback:
            callback(response)
            return None
        return response

    def last_status(self) -> int | None:
        """The HTTP status of this thread's last POST (None before any reply)."""
        return getattr(self._isoko_last, "status", None)


class AfricasTalkingProvider:
    """Sends through Africa's Talking; thread-safe."""

    name = NAME

    def __init__(self, username: str, api_key: str, *, base_url: str | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
                 enqueue: bool = False) -> None:
        self._service = _SMSService(username, api_key, base_url)
        self.timeout = timeout
        self.enqueue = enqueue

    @property
    def url(self) -> str:
        """Where sends are posted (no secret in it)."""
        return self._service._make_url("/messaging")

    def send(self, to: str, text: str, sender_id: str | None) -> SendResult:
        try:
            reply = self._service.send(text, [to], sender_id=sender_id, enqueue=self.enqueue,
                                       timeout=self.timeout)
        except ValueError as exc:
            # The SDK checks the number's form before any request.
            return SendResult.failed("InvalidPhoneNumber", f"refused by the SDK: {exc}")
        except requests.ConnectTimeout:
            return SendResult.retry("connect_timeout", "no connection to the provider in time")
        except requests.Timeout:
            # The request went out: the provider may have taken it, and there
            # is no idempotency key. The send job decides (by the kind)
            # whether to resend; a delivery report settles it otherwise.
            return SendResult.unknown("timeout", "no reply from the provider in time; it may "
                                                 "have sent the message")
        except requests.ConnectionError as exc:
            return SendResult.retry("connection_error", f"connection error: {type(exc).__name__}")
        except AfricasTalkingException as exc:
            return classify_http(self._service.last_status(), str(exc))
        except requests.RequestException as exc:
            return SendResult.retry("http_error", f"request error: {type(exc).__name__}")
        return parse_reply(reply, to)


def parse_reply(reply: Any, to: str) -> SendResult:
    """The outcome for `to` in a 2xx reply body (a dict, or the raw text the
    SDK returns when the content type is not exactly application/json)."""
    if isinstance(reply, (str, bytes)):
        try:
            reply = json.loads(reply)
        except ValueError:
            # A 2xx we cannot read: the provider probably took the message.
            # Failing it (not retrying) avoids sending it twice.
            snippet = " ".join(str(reply).split())[:120]
            return SendResult.failed("unreadable_reply", f"unreadable 2xx reply: {snippet!r}")
    try:
        data = reply["SMSMessageData"]
        recipients = data.get("Recipients") or []
    except (TypeError, KeyError, AttributeError):
        return SendResult.failed("unreadable_reply", "2xx reply without SMSMessageData")
    if not recipients:
        return classify_whole_request(str(data.get("Message", "")))
    entry = next((r for r in recipients if isinstance(r, dict) and r.get("number") == to),
                 recipients[0])
    if not isinstance(entry, dict):
        return SendResult.failed("unreadable_reply", "2xx reply with a malformed recipient")
    try:
        code = int(entry.get("statusCode"))
    except (TypeError, ValueError):
        return SendResult.failed("unreadable_reply", "2xx reply without a recipient statusCode")
    message_id = entry.get("messageId")
    cost = entry.get("cost")
    return classify_recipient(code, entry.get("status"), str(message_id) if message_id else None,
                              str(cost) if cost is not None else None)
