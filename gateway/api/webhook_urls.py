"""Where a webhook may point, and the one way a delivery connects there.

The rule (SSRF): `https://` only, to a host whose every address is public
(`ipaddress.is_global`, not multicast). Private, loopback, link-local,
shared and reserved ranges are refused, so a buyer platform cannot make
Isoko POST into its own network. WEBHOOK_ALLOW_PRIVATE_URLS=1 lifts both
rules (http, any unicast address) for a receiver on the developer's machine
or in the tests; production leaves it off.

The rule is checked when the webhook is created (a clear 422) and again at
every attempt, because DNS can change; the attempt then connects to the very
address it checked (`post`), with the URL's host in Host and for TLS (SNI and
certificate), so a name that re-resolves between check and connect
(DNS rebinding) cannot slip through.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

MAX_URL = 2048


class UrlRefused(ValueError):
    """The URL is not one Isoko will deliver to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (Host header, TLS name)
    port: int
    path: str  # path and query
    address: str  # the checked IP to connect to


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    return allow_private or ip.is_global


def check(url: str, *, allow_private: bool = False) -> Target:
    """The target `url` names, resolved and checked; UrlRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise UrlRefused("the URL is not valid") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise UrlRefused("the URL must start with https://")
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise UrlRefused("the URL needs a host, and no user, password or #fragment")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        raise UrlRefused(f"the host {host} does not resolve") from None
    if not addresses:
        raise UrlRefused(f"the host {host} does not resolve")
    if not all(_allowed(address, allow_private) for address in addresses):
        raise UrlRefused(f"the host {host} has a private, loopback or reserved address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST `body` to the checked address; never follows a redirect, never
    retries (the caller's schedule does). Reads at most 4 KiB of the answer."""
    started = time.monotonic()
    timeouts = urllib3.Timeout(connect=max(1.0, timeout / 3), read=timeout)
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    if ":" in target.host and not host_header.startswith("["):
        host_header = f"[{target.host}]" + (f":{target.port}" if target.port not in (80, 443) else "")
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, timeout=timeouts,
                                           retries=False, maxsize=1, cert_reqs="CERT_REQUIRED",
                                           server_hostname=target.host,
                                           assert_hostname=target.host)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeouts,
                                          retries=False, maxsize=1)
    try:
        response = pool.urlopen("POST", target.path, body=body,
                                headers={**headers, "Host": host_header}, redirect=False,
                                retries=False, preload_content=False, assert_same_host=False)
        response.read(4096)
        response.release_conn()
        return Outcome(response.status, None, _ms(started))
    except Exception as exc:  # every failure of the attempt is its outcome
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:200], _ms(started))
    finally:
        pool.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
