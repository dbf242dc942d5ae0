"""The gateway's settings: one typed, frozen object built from the environment.

`Settings.from_env()` is the only place the process environment is read and
interpreted. It checks every variable, collects every problem and raises one
`SettingsError` naming them all, so an operator fixes a bad deployment in one
round instead of one variable per restart.

Contracts:
- An empty variable counts as unset (env files and orchestrators often write
  `NAME=` for "not configured").
- Secrets (`SECRET_KEY`, `AT_API_KEY`, `CALLBACK_TOKEN`, passwords inside URLs)
  never appear in `repr()`/`str()` nor in error messages.
- Building `Settings(...)` directly (tests, embedding code) skips validation;
  every field has a sensible default so tests can override just what matters.
"""
from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.core import access, bounds
from gateway.core.access import AccessConfig
from gateway.core.bounds import TimeBounds

DEFAULT_SERVICE_CODE = "*384*7#"
DEFAULT_TZ = "Africa/Kigali"
SERVE_MODE = "serve"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_CALLBACK_TOKEN = 16
SECRET_FIELDS = frozenset({"secret_key", "at_api_key", "callback_token"})
URL_FIELDS = frozenset({"database_url", "redis_url", "at_api_url"})
MOMO_ENVIRONMENTS = ("sandbox", "mtnrwanda")
MOMO_REQUIRED = ("MOMO_API_URL", "MOMO_SUBSCRIPTION_KEY", "MOMO_API_USER", "MOMO_API_KEY",
                 "MOMO_TARGET_ENVIRONMENT")
MASK = "***"

# A USSD code as a phone dials it: "*384*7#", "*123#"; no empty segments.
_SERVICE_CODE = re.compile(r"\*\d+(?:\*\d+)*#")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


class SettingsError(ValueError):
    """The environment is invalid; `problems` lists one line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid settings ({len(self.problems)} problem(s)):\n{lines}")


def _default_database_url() -> str:
    # Absolute, so the app and a worker started elsewhere agree on the file.
    return "sqlite:///" + os.path.abspath("isoko.db")


def _generated_secret() -> str:
    return secrets.token_urlsafe(32)


DEFAULT_SMS_MAX_AGE = timedelta(hours=1)
SMS_VARIABLES = ("SMS_RATE_PER_SECOND", "SMS_CONCURRENCY", "SMS_MAX_ATTEMPTS", "SMS_RETRY_BASE_SECONDS",
                 "SMS_HOLD_SECONDS", "SMS_MAX_AGE_SECONDS", "SMS_READ_TIMEOUT_SECONDS",
                 "SMS_LEASE_SECONDS", "SMS_UNKNOWN_WAIT_SECONDS", "SMS_CIRCUIT_FAILURES",
                 "SMS_CIRCUIT_OPEN_SECONDS")
SDK_CONNECT_TIMEOUT = 3.05  # seconds: the SDK's own, kept; only the read timeout is ours to set


@dataclass(frozen=True)
class SmsConfig:
    """How the send job behaves; `from_env` reads the SMS_* variables."""

    rate_per_second: int = 20
    concurrency: int = 16
    max_attempts: int = 5
    retry_base: float = 15.0  # seconds before the 2nd attempt; doubles each time
    retry_cap: float = 600.0
    retry_jitter: float = 0.2  # +-20 %, so a burst of failures does not retry in step
    hold_seconds: float = 600.0
    # A drain job sends for at most `budget` seconds, then hands over to a
    # fresh job (so periodic jobs get their turn); it waits up to `linger`
    # seconds for new or soon-due work before it ends.
    budget: float = 60.0
    linger: float = 1.0
    # A claimed (`sending`) row whose worker is gone: after `lease` seconds
    # the sweeper marks it `unknown` (never resends it; a delivery report
    # settles it), and after `unknown_wait` more with no report, `review`.
    lease: float = 300.0
    provider_timeout: float | tuple[float, float] | None = None  # None: the SDK's (3.05, 9.05)
    max_age_seconds: int = int(DEFAULT_SMS_MAX_AGE.total_seconds())
    unknown_wait: float = 1800.0
    # The circuit (gateway.sms.circuit): after `circuit_failures` transient
    # provider failures in a row, sending pauses for `circuit_open` seconds,
    # then one message probes before the rest go.
    circuit_failures: int = 10
    circuit_open: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmsConfig:
        env = os.environ if environ is None else environ
        base = cls()

        def number(name: str, default, low, high, kind=int):
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number between {low} and {high}, got {raw!r}") from None
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")
            return value

        return dataclasses.replace(
            base,
            rate_per_second=number("SMS_RATE_PER_SECOND", base.rate_per_second, 1, 10_000),
            concurrency=number("SMS_CONCURRENCY", base.concurrency, 1, 256),
            max_attempts=number("SMS_MAX_ATTEMPTS", base.max_attempts, 1, 50),
            retry_base=number("SMS_RETRY_BASE_SECONDS", base.retry_base, 0, 3600, float),
            hold_seconds=number("SMS_HOLD_SECONDS", base.hold_seconds, 1, 86_400, float),
            max_age_seconds=number("SMS_MAX_AGE_SECONDS", base.max_age_seconds, 60, 7 * 86_400),
            provider_timeout=_read_timeout(number("SMS_READ_TIMEOUT_SECONDS", None, 0.5, 60, float)),
            lease=number("SMS_LEASE_SECONDS", base.lease, 5, 3600, float),
            unknown_wait=number("SMS_UNKNOWN_WAIT_SECONDS", base.unknown_wait, 1, 7 * 86_400, float),
            circuit_failures=number("SMS_CIRCUIT_FAILURES", base.circuit_failures, 1, 1000),
            circuit_open=number("SMS_CIRCUIT_OPEN_SECONDS", base.circuit_open, 0.1, 3600, float),
        )

    @property
    def read_timeout(self) -> float:
        """Seconds the provider has to answer a send (the SDK's 9.05 unless set)."""
        timeout = self.provider_timeout
        if timeout is None:
            return 9.05
        return float(timeout[1] if isinstance(timeout, tuple) else timeout)


def _read_timeout(seconds: float | None) -> tuple[float, float] | None:
    """SMS_READ_TIMEOUT_SECONDS as the SDK's (connect, read) pair; None: the SDK's default."""
    return None if seconds is None else (SDK_CONNECT_TIMEOUT, seconds)


WEBHOOK_VARIABLES = ("WEBHOOK_TIMEOUT_SECONDS", "WEBHOOK_RETRY_BASE_SECONDS",
                     "WEBHOOK_MAX_AGE_HOURS", "WEBHOOK_ALLOW_PRIVATE_URLS")


@dataclass(frozen=True)
class WebhookConfig:
    """How webhook deliveries behave; `from_env` reads the WEBHOOK_* variables."""

    timeout: float = 10.0  # seconds for the receiver to answer (connect: a third of it)
    retry_base: float = 30.0  # seconds before the 2nd attempt; doubles each time
    retry_cap: float = 3600.0
    max_age_hours: float = 24.0  # a delivery not accepted by then is marked failed
    # Allow http:// and private, loopback and link-local addresses (a local
    # receiver while developing or testing); never in production.
    allow_private: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookConfig:
        env = os.environ if environ is None else environ
        base = cls()

        def number(name: str, default: float, low: float, high: float) -> float:
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number between {low:g} and {high:g}, "
                                 f"got {raw!r}") from None
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
            return value

        flag = (env.get("WEBHOOK_ALLOW_PRIVATE_URLS") or "").strip()
        if flag not in ("", "0", "1"):
            raise ValueError(f"WEBHOOK_ALLOW_PRIVATE_URLS must be 0 or 1, got {flag!r}")
        return dataclasses.replace(
            base,
            timeout=number("WEBHOOK_TIMEOUT_SECONDS", base.timeout, 1, 60),
            retry_base=number("WEBHOOK_RETRY_BASE_SECONDS", base.retry_base, 0, 3600),
            max_age_hours=number("WEBHOOK_MAX_AGE_HOURS", base.max_age_hours, 1, 72),
            allow_private=flag == "1",
        )


@dataclass(frozen=True, repr=False)
class MomoConfig:
    """MTN MoMo Open API access (MOMO_*); `Settings.momo` is None without it.

    One subscription key and API user serve both products (collection and
    disbursement) here; MTN issues one per product, so a deployment that has
    two must still configure one pair (see the README). `repr` masks the
    subscription key and the API key."""

    api_url: str
    subscription_key: str
    api_user: str
    api_key: str
    target_environment: str = "sandbox"
    currency: str = "RWF"
    commission_percent: float = 0.0
    # Where MTN posts the result (X-Callback-Url); None: polling only.
    callback_url: str | None = None
    # The USSD code a buyer dials to retry a failed payment (USSD_SERVICE_CODE).
    service_code: str = DEFAULT_SERVICE_CODE
    # Tuning, not read from the environment (tests shorten it).
    timeout: float | tuple[float, float] = (3.05, 15.0)  # connect, read: seconds per call
    poll_first: float = 5.0  # seconds from an accepted request to its first status check
    poll_cap: float = 60.0  # the wait between checks doubles up to this
    pending_limit: float = 600.0  # a collection still PENDING this long after the request counts as EXPIRED
    transfer_limit: float = 3600.0  # a transfer not final by then is held for an operator
    call_max_age: float = 900.0  # a request MTN could not be reached for this long is given up

    def __repr__(self) -> str:
        return (f"MomoConfig(api_url={self.api_url!r}, subscription_key={MASK!r}, "
                f"api_user={self.api_user!r}, api_key={MASK!r}, "
                f"target_environment={self.target_environment!r}, currency={self.currency!r}, "
                f"commission_percent={self.commission_percent!r}, "
                f"callback_url={self.callback_url!r})")

    def commission(self, total: int) -> int:
        """The commission on `total` RWF, rounded down (the seller is never short-changed)."""
        return int(total * round(self.commission_percent * 100)) // 10_000


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything the gateway reads from its environment, validated and typed."""

    database_url: str = field(default_factory=_default_database_url)
    redis_url: str | None = None
    # Redis through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): the
    # master is asked of the sentinels, and asked again after a failover.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str | None = None
    # Each process's PostgreSQL pool (SQLite ignores them): at most
    # db_pool_size + db_max_overflow connections; a hop waits at most
    # db_pool_timeout seconds for one, then gets the polite END.
    db_pool_size: int = 4
    db_max_overflow: int = 2
    db_pool_timeout: float = 3.0
    secret_key: str = field(default_factory=_generated_secret)
    ussd_service_code: str = DEFAULT_SERVICE_CODE
    callback_token: str | None = None
    at_username: str | None = None
    at_api_key: str | None = None
    at_sender_id: str | None = None
    at_api_url: str | None = None
    session_ttl_seconds: int = 300
    resume_ttl_seconds: int = 600
    screen_limit: int = 160
    log_level: str = "INFO"
    order_ttl_minutes: int = 1440
    delivery_days: int = 7
    # The largest request body read, in bytes: every route (the provider's
    # callbacks, the API, MTN's callback), and a larger one for the console and
    # the simulator, whose forms carry whole menu YAML and catalogue files.
    max_body_bytes: int = 64 * 1024
    console_max_body_bytes: int = 2 * 1024 * 1024
    # The IANA zone the console shows times in. Only for display: every
    # stored time is UTC and is converted explicitly, never through the
    # process's local time (which TZ also sets, for libc).
    tz: str = DEFAULT_TZ
    sms: SmsConfig = field(default_factory=lambda: SmsConfig())
    webhooks: WebhookConfig = field(default_factory=lambda: WebhookConfig())
    # Mobile money (MOMO_*): None means cash on delivery.
    momo: MomoConfig | None = None
    # How the process runs ("serve", "web", "worker"): only "serve" may be local.
    mode: str = SERVE_MODE
    # Who may reach what (gateway.core.access): callbacks, proxies, rate limits.
    access: AccessConfig = field(default_factory=lambda: AccessConfig())
    # How long a hop and each blocking call may take (gateway.core.bounds).
    bounds: TimeBounds = field(default_factory=lambda: TimeBounds())

    @property
    def embedded_redis(self) -> bool:
        """True when neither REDIS_URL nor REDIS_SENTINELS is set: use the
        in-process store (single process only)."""
        return self.redis_url is None and not self.redis_sentinels

    @property
    def production(self) -> bool:
        """True for every process but the local one-process `serve` (the
        simulator is open only there, and only without CALLBACK_TOKEN)."""
        return self.mode != SERVE_MODE

    @property
    def zone(self) -> ZoneInfo:
        """`tz` as a time zone (validated by `from_env`)."""
        return ZoneInfo(self.tz)

    @property
    def sms_provider(self) -> str:
        """Where SMS go: "africastalking" with provider credentials, else "outbox" (local only)."""
        return "africastalking" if self.at_username and self.at_api_key else "outbox"

    def __repr__(self) -> str:
        parts = [
            f"{f.name}={_shown(f.name, getattr(self, f.name))!r}" for f in dataclasses.fields(self)
        ]
        return f"Settings({', '.join(parts)})"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, mode: str = SERVE_MODE
    ) -> Settings:
        """Build settings from `environ` (default: `os.environ`).

        `mode` is how the process runs: "serve" (one local process) may
        generate a throwaway SECRET_KEY; any other mode (e.g. "web" under
        gunicorn, "worker") requires one, because several processes must agree
        on it and operator sessions must survive a restart. "web" also needs
        CALLBACK_TOKEN (or ALLOW_OPEN_CALLBACKS=1) and a SECRET_KEY of 32+ bytes
        (`gateway.core.access`).

        Raises `SettingsError` listing every problem found.
        """
        reader = _Reader(os.environ if environ is None else environ)
        values = {
            "database_url": reader.database_url(),
            "redis_url": reader.redis_url(),
            **reader.sentinels(),
            **reader.db_pool(),
            "secret_key": reader.secret_key(mode),
            "ussd_service_code": reader.service_code(),
            "callback_token": reader.callback_token(),
            **reader.provider(),
            "session_ttl_seconds": reader.integer("USSD_SESSION_TTL", 300, 30, 3600),
            "resume_ttl_seconds": reader.integer("USSD_RESUME_TTL", 600, 30, 86400),
            "screen_limit": reader.integer("USSD_SCREEN_LIMIT", 160, 120, 182),
            "log_level": reader.log_level(),
            # How long a seller has to answer an order before it expires.
            "order_ttl_minutes": reader.integer("ORDER_TTL_MINUTES", 1440, 5, 10080),
            # How long after acceptance the goods must change hands before
            # the order is overdue (and shown to an operator).
            "delivery_days": reader.integer("DELIVERY_DAYS", 7, 1, 90),
            "tz": reader.time_zone(),
            "max_body_bytes": reader.integer("MAX_BODY_BYTES", 64 * 1024, 4096, 10 * 1024 * 1024),
            "console_max_body_bytes": reader.integer("CONSOLE_MAX_BODY_BYTES", 2 * 1024 * 1024,
                                                     64 * 1024, 64 * 1024 * 1024),
        }
        values["sms"] = reader.sms()
        values["webhooks"] = reader.webhooks()
        momo = reader.momo()
        values["momo"] = momo and dataclasses.replace(momo, service_code=values["ussd_service_code"])
        values["mode"] = mode
        values["access"] = access.read(reader, mode, secret_key=reader.get("SECRET_KEY"),
                                       callback_token=values["callback_token"])
        values["bounds"] = bounds.read(reader)
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(**values)


def _shown(name: str, value: object) -> object:
    """What repr() may show for a field: secrets masked, URL passwords hidden."""
    if value is None:
        return None
    if name in SECRET_FIELDS:
        return MASK
    if name in URL_FIELDS:
        return _hide_password(str(value))
    if name == "momo":
        return _Shown(repr(value))
    return value


class _Shown(str):
    """A string repr() shows as it is (an already masked nested repr)."""

    def __repr__(self) -> str:
        return str(self)


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


class _Reader:
    """Reads and checks one variable at a time, recording problems instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def problem(self, name: str, reason: str) -> None:
        self.problems.append(f"{name}: {reason}")

    def database_url(self) -> str:
        url = self.get("DATABASE_URL")
        if url is None:
            return _default_database_url()
        # Hosting platforms hand out "postgres://", a scheme SQLAlchemy rejects.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        try:
            make_url(url)
        except (ArgumentError, ValueError):
            # The value is not echoed: it may carry a password.
            self.problem(
                "DATABASE_URL", "is not a valid SQLAlchemy URL (e.g. postgresql://user@host/db)"
            )
        return url

    def redis_url(self) -> str | None:
        url = self.get("REDIS_URL")
        if url is not None and urlsplit(url).scheme not in _REDIS_SCHEMES:
            self.problem("REDIS_URL", "must start with redis://, rediss:// or unix://")
        return url

    def sentinels(self) -> dict:
        """REDIS_SENTINELS ("host:port,host:port") and REDIS_SENTINEL_MASTER,
        both or neither."""
        raw, master = self.get("REDIS_SENTINELS"), self.get("REDIS_SENTINEL_MASTER")
        if raw is None:
            if master is not None:
                self.problem("REDIS_SENTINEL_MASTER", "needs REDIS_SENTINELS")
            return {}
        nodes = []
        for part in raw.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                self.problem("REDIS_SENTINELS", f"must be host:port,host:port..., got {part.strip()!r}")
                continue
            nodes.append((host, int(port)))
        if master is None:
            self.problem("REDIS_SENTINEL_MASTER", "must name the master the sentinels watch")
        return {"redis_sentinels": tuple(nodes), "redis_sentinel_master": master}

    def db_pool(self) -> dict:
        """DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_TIMEOUT (seconds)."""
        timeout = self.integer("DB_POOL_TIMEOUT", 3, 1, 30)
        return {"db_pool_size": self.integer("DB_POOL_SIZE", 4, 1, 100),
                "db_max_overflow": self.integer("DB_MAX_OVERFLOW", 2, 0, 100),
                "db_pool_timeout": float(timeout)}

    def secret_key(self, mode: str) -> str:
        key = self.get("SECRET_KEY")
        if key is not None:
            return key
        if mode != SERVE_MODE:
            self.problem("SECRET_KEY", f"is required in {mode!r} mode (only 'serve' generates one)")
        return _generated_secret()

    def service_code(self) -> str:
        code = self.get("USSD_SERVICE_CODE")
        if code is None:
            return DEFAULT_SERVICE_CODE
        if not _SERVICE_CODE.fullmatch(code):
            self.problem(
                "USSD_SERVICE_CODE",
                f"must look like a USSD code such as *384*7# (digits and '*' between"
                f" a leading '*' and a trailing '#'), got {code!r}",
            )
        return code

    def callback_token(self) -> str | None:
        token = self.get("CALLBACK_TOKEN")
        if token is not None and len(token) < MIN_CALLBACK_TOKEN:
            self.problem(
                "CALLBACK_TOKEN", f"is too short: use at least {MIN_CALLBACK_TOKEN} characters"
            )
        return token

    def provider(self) -> dict[str, str | None]:
        username, api_key = self.get("AT_USERNAME"), self.get("AT_API_KEY")
        if username and not api_key:
            self.problem("AT_API_KEY", "is missing: AT_USERNAME is set and the two go together")
        if api_key and not username:
            self.problem("AT_USERNAME", "is missing: AT_API_KEY is set and the two go together")
        api_url = self.get("AT_API_URL")
        if api_url is not None:
            api_url = self._http_url("AT_API_URL", api_url)
        return {
            "at_username": username,
            "at_api_key": api_key,
            "at_sender_id": self.get("AT_SENDER_ID"),
            "at_api_url": api_url,
        }

    def _http_url(self, name: str, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problem(name, "must be an http:// or https:// URL with a host")
        # The SDK appends "/version1/...": a trailing slash would double it.
        return url.rstrip("/")

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problem(name, f"must be a whole number between {low} and {high}, got {raw!r}")
            return default
        if not low <= value <= high:
            self.problem(name, f"must be between {low} and {high}, got {value}")
        return value

    def sms(self) -> SmsConfig:
        """The SMS_* tuning; each bad variable is one problem (checked one by
        one, so every bad one is named, not just the first)."""
        good = {}
        for name in SMS_VARIABLES:
            raw = self.get(name)
            if raw is None:
                continue
            try:
                SmsConfig.from_env({name: raw})
            except ValueError as exc:  # its message starts with the variable's name
                self.problem(name, str(exc).removeprefix(f"{name} "))
                continue
            good[name] = raw
        config = SmsConfig.from_env(good)
        if config.lease <= config.read_timeout + SDK_CONNECT_TIMEOUT:
            # A lease shorter than one send would hand a live send to the sweeper.
            self.problem("SMS_LEASE_SECONDS", f"must be longer than one send (connect "
                         f"{SDK_CONNECT_TIMEOUT} s + read {config.read_timeout:g} s), got {config.lease:g}")
        return config

    def time_zone(self) -> str:
        """TZ as an IANA name. glibc's ":Area/City" form is accepted; POSIX
        rule strings ("EAT-3") are not: the console needs a zone database name."""
        name = (self.get("TZ") or DEFAULT_TZ).removeprefix(":")
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a plain key ("../x", "/etc/...")
            self.problem("TZ", f"must be an IANA time zone such as {DEFAULT_TZ} or UTC, got {name!r}")
            return DEFAULT_TZ
        return name

    def webhooks(self) -> WebhookConfig:
        """The WEBHOOK_* tuning, every bad variable named (as `sms`)."""
        good = {}
        for name in WEBHOOK_VARIABLES:
            raw = self.get(name)
            if raw is None:
                continue
            try:
                WebhookConfig.from_env({name: raw})
            except ValueError as exc:
                self.problem(name, str(exc).removeprefix(f"{name} "))
                continue
            good[name] = raw
        return WebhookConfig.from_env(good)

    def momo(self) -> MomoConfig | None:
        """MOMO_*: all of MOMO_REQUIRED or none (then None: cash on delivery)."""
        given = {name: self.get(name) for name in MOMO_REQUIRED}
        extra = [name for name in ("MOMO_CURRENCY", "MOMO_COMMISSION_PERCENT", "MOMO_CALLBACK_URL")
                 if self.get(name) is not None]
        if not any(given.values()):
            for name in extra:
                self.problem(name, "is set without the MTN MoMo credentials (" +
                             ", ".join(MOMO_REQUIRED) + ")")
            return None
        missing = [name for name, value in given.items() if value is None]
        for name in missing:
            self.problem(name, "is missing: the MOMO_* credentials go together")
        api_url = self._http_url("MOMO_API_URL", given["MOMO_API_URL"] or "http://missing")
        environment = given["MOMO_TARGET_ENVIRONMENT"] or "sandbox"
        if environment not in MOMO_ENVIRONMENTS:
            self.problem("MOMO_TARGET_ENVIRONMENT",
                         f"must be one of {', '.join(MOMO_ENVIRONMENTS)}, got {environment!r}")
        currency = (self.get("MOMO_CURRENCY") or "RWF").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            self.problem("MOMO_CURRENCY", f"must be an ISO 4217 code such as RWF, got {currency!r}")
        percent = 0.0
        raw = self.get("MOMO_COMMISSION_PERCENT")
        if raw is not None:
            try:
                percent = float(raw)
            except ValueError:
                percent = -1.0
            if not 0 <= percent < 100:
                self.problem("MOMO_COMMISSION_PERCENT",
                             f"must be a number from 0 to below 100, got {raw!r}")
                percent = 0.0
        callback = self.get("MOMO_CALLBACK_URL")
        if callback is not None:
            callback = self._http_url("MOMO_CALLBACK_URL", callback)
        if missing:
            return None
        return MomoConfig(api_url=api_url, subscription_key=given["MOMO_SUBSCRIPTION_KEY"],
                          api_user=given["MOMO_API_USER"], api_key=given["MOMO_API_KEY"],
                          target_environment=environment, currency=currency,
                          commission_percent=percent, callback_url=callback)

    def log_level(self) -> str:
        level = (self.get("LOG_LEVEL") or "INFO").upper()
        if level not in LOG_LEVELS:
            self.problem("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        return level
