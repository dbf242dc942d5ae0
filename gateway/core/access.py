"""Who may reach what: the access settings, read with the others by `settings`.

`read(reader, mode)` checks the variables below and records each problem on
the settings' reader, so `Settings.from_env` still reports every problem of a
deployment in one message. The rules that depend on how the process runs:

- `web` (gunicorn) refuses to start without `CALLBACK_TOKEN` unless
  `ALLOW_OPEN_CALLBACKS=1` says, explicitly, that the provider callbacks may
  be open (a test bench behind a private network, say); `serve`, the local
  one-process server, needs neither.
- `web` needs a `SECRET_KEY` of at least MIN_SECRET_KEY bytes: it signs the
  operators' session cookies, and a short one can be guessed offline from
  one cookie.

The client address a limit or an allow-list sees is the TCP peer's unless
`TRUSTED_PROXIES` is n > 0: then it is the n-th address from the right of
`X-Forwarded-For` (werkzeug's ProxyFix), and `X-Forwarded-Proto` says whether
the request came over HTTPS (so the session cookie is `Secure` behind a TLS
proxy). Never set it higher than the number of proxies you run: a client can
write any `X-Forwarded-For` it likes, and only the proxies' own additions
can be trusted.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MIN_SECRET_KEY = 32
DEFAULT_HOPS_PER_MINUTE = 60
# Below the account lock-out (operators.MAX_FAILED_LOGINS, 5): one address
# alone can never lock an account (see gateway.console.access.throttle).
DEFAULT_LOGINS_PER_ADDRESS = 4
WEB_MODE = "web"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AccessConfig:
    """The access settings; every field has the default a local app needs."""

    # ALLOW_OPEN_CALLBACKS=1: `web` may run its /at/* callbacks without CALLBACK_TOKEN.
    allow_open_callbacks: bool = False
    # CALLBACK_ALLOW_CIDRS: when not empty, /at/* answers 403 to any other client address.
    callback_networks: tuple[Network, ...] = ()
    # TRUSTED_PROXIES: how many proxies in front append to X-Forwarded-For (see the docstring).
    trusted_proxies: int = 0
    # SESSION_COOKIE_SECURE=1: the console's cookie is always Secure (else: when the request is HTTPS).
    cookie_secure: bool = False
    # USSD_HOPS_PER_MINUTE: hops one phone may make in a clock minute; past it, a polite END.
    hops_per_minute: int = DEFAULT_HOPS_PER_MINUTE
    # LOGIN_ATTEMPTS_PER_ADDRESS: failed console log-ins one address may make
    # before it must pause (see gateway.console.access.throttle).
    logins_per_address: int = DEFAULT_LOGINS_PER_ADDRESS

    def callback_allowed(self, address: str | None) -> bool:
        """True when `address` may reach /at/* (always, without an allow-list)."""
        if not self.callback_networks:
            return True
        try:
            ip = ipaddress.ip_address((address or "").split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.callback_networks)


def read(reader, mode: str, *, secret_key: str | None, callback_token: str | None) -> AccessConfig:
    """The access settings from `reader` (the settings' `_Reader`: `get`,
    `integer`, `problem`), every problem recorded there. `secret_key` and
    `callback_token` are the values as given (None when unset)."""
    open_callbacks = _flag(reader, "ALLOW_OPEN_CALLBACKS")
    if mode == WEB_MODE and not callback_token and not open_callbacks:
        reader.problem("CALLBACK_TOKEN", "is required in 'web' mode: set it (the provider's callbacks "
                                         "carry it) or set ALLOW_OPEN_CALLBACKS=1 to run them open")
    if mode == WEB_MODE and secret_key is not None and len(secret_key.encode()) < MIN_SECRET_KEY:
        reader.problem("SECRET_KEY", f"is too short for 'web' mode: use at least {MIN_SECRET_KEY} "
                                     "bytes (python -c \"import secrets; print(secrets.token_urlsafe(32))\")")
    return AccessConfig(
        allow_open_callbacks=open_callbacks,
        callback_networks=_networks(reader),
        trusted_proxies=reader.integer("TRUSTED_PROXIES", 0, 0, 5),
        cookie_secure=_flag(reader, "SESSION_COOKIE_SECURE"),
        hops_per_minute=reader.integer("USSD_HOPS_PER_MINUTE", DEFAULT_HOPS_PER_MINUTE, 1, 10_000),
        logins_per_address=reader.integer("LOGIN_ATTEMPTS_PER_ADDRESS", DEFAULT_LOGINS_PER_ADDRESS, 1, 4),
    )


def _flag(reader, name: str) -> bool:
    raw = reader.get(name)
    if raw not in (None, "0", "1"):
        reader.problem(name, f"must be 0 or 1, got {raw!r}")
    return raw == "1"


def _networks(reader) -> tuple[Network, ...]:
    """CALLBACK_ALLOW_CIDRS: comma-separated networks (`196.201.214.0/24, 2001:db8::/32`;
    a bare address is a /32 or /128). Every bad entry is named."""
    raw = reader.get("CALLBACK_ALLOW_CIDRS")
    if raw is None:
        return ()
    networks, bad = [], []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=True))
        except ValueError:
            bad.append(part)
    if bad:
        reader.problem("CALLBACK_ALLOW_CIDRS", "must be comma-separated networks such as "
                       f"196.201.214.0/24 (host bits zero), got {', '.join(map(repr, bad))}")
    elif not networks:
        reader.problem("CALLBACK_ALLOW_CIDRS", "names no network")
    return tuple(networks)
