"""SMS provider adapters behind one small interface (see `base`).

`provider_for(settings)` picks the adapter: Africa's Talking when credentials
are set (AT_USERNAME and AT_API_KEY; AT_API_URL redirects it, e.g. to a
sandbox or a loopback simulator), else the local outbox.
"""
from __future__ import annotations

from gateway.sms.providers.africastalking import AfricasTalkingProvider
from gateway.sms.providers.base import Outcome, Provider, SendResult
from gateway.sms.providers.outbox import OutboxProvider

__all__ = ["Outcome", "Provider", "SendResult", "OutboxProvider", "provider_for"]


def provider_for(settings, *, timeout=None) -> Provider:
    """The provider `settings` configure. `timeout` (seconds, or a (connect,
    read) pair) overrides the SDK's default of (3.05, 9.05)."""
    if settings.sms_provider == "africastalking":
        kwargs = {} if timeout is None else {"timeout": timeout}
        return AfricasTalkingProvider(settings.at_username, settings.at_api_key,
                                      base_url=settings.at_api_url, **kwargs)
    return OutboxProvider()
