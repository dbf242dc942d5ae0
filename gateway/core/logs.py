"""Process logging: one line per record, with phone numbers and secrets masked.

`configure_logging(level)` installs a single handler on the root logger (to
stderr, where gunicorn, systemd and container runtimes collect logs). The
`MaskPhones` filter sits on that handler, so it sees every record that reaches
the root, whichever logger emitted it. A filter on the root *logger* would not:
logger filters only apply to records logged on that very logger.

Masking rules (applied to the final message, after `%`-formatting the args):
- phone numbers: E.164 `+250788123456` (also URL-encoded `%2B250788123456`),
  `250788123456` and local `0788123456` keep their first 5 characters and
  last 2 digits: `+2507******56`, `25078*****56`, `07881***56`;
- `token=<value>` (query strings), `apiKey` values (`apiKey=...`,
  `apiKey: ...`, `'apiKey': '...'`) and `Bearer <value>` become `***`.
"""
from __future__ import annotations

import logging
import re
import sys
import time

MASK = "***"
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# Secrets first, so digits inside a token are not half-masked as a phone.
# No word boundary before "token"/"apikey": "callback_token=", "AT_API_KEY=" count.
_SECRETS = re.compile(
    r"(?P<key>token=)[^&\s\"'#]+"
    r"|(?P<apikey>[\"']?api_?key[\"']?\s*[:=]\s*[\"']?)[^&\s\"',;}]+"
    r"|(?P<bearer>\bBearer\s+)[^\s\"',;]+",
    re.IGNORECASE,
)
# Bounded by non-digits so quantities, prices ("18,000") and longer ids pass.
# Local forms also need a non-alphanumeric on the left, so ids like "A0788123456"
# are left alone; the URL-encoded plus is matched explicitly for that reason.
_PHONES = re.compile(
    r"(?P<plus>\+|%2[Bb])(?P<intl>\d{8,15})(?!\d)"
    r"|(?<![0-9A-Za-z])(?P<local>2507\d{8}|07\d{8})(?!\d)"
)


def mask(text: str) -> str:
    """Return `text` with phone numbers, tokens and API keys masked."""
    text = _SECRETS.sub(_mask_secret, text)
    return _PHONES.sub(_mask_phone, text)


def _mask_secret(match: re.Match[str]) -> str:
    prefix = match.group("key") or match.group("apikey") or match.group("bearer")
    return prefix + MASK


def _mask_phone(match: re.Match[str]) -> str:
    if match.group("intl"):
        # "+" and its URL-encoded form count as one character of the five kept.
        return match.group("plus") + _keep_ends(match.group("intl"), 4)
    return _keep_ends(match.group("local"), 5)


def _keep_ends(digits: str, head: int) -> str:
    return digits[:head] + "*" * (len(digits) - head - 2) + digits[-2:]


class MaskPhones(logging.Filter):
    """Masks phone numbers and secrets in a record's message, args, traceback and stack.

    The message is formatted first (`record.getMessage()`), masked, and stored
    back with empty args: masking args one by one would miss numbers split
    across the format string and an argument. Always returns True (never drops
    a record) and never raises, since a logging call must not break a request.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: keep its content, masked
            message = f"{record.msg!s} args={record.args!r}"
        record.msg, record.args = mask(message), ()
        if record.exc_info and not record.exc_text:
            # Render the traceback now so its text can be masked too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """UTC ISO-8601 time, level, logger, message; newlines escaped.

    Escaping keeps a record on one line for log collectors and stops user
    input (an SMS body, a USSD reply) from forging extra log lines.
    """

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


class _IsokoHandler(logging.StreamHandler):
    """Marks the handler configure_logging owns, so reconfiguring replaces it."""


def configure_logging(level: str) -> None:
    """Send all logging to stderr, one masked line per record, at `level`.

    `level` is a standard level name (case-insensitive). Idempotent: calling
    it again replaces the handler it installed earlier and leaves any other
    root handler (e.g. pytest's capture) in place.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _IsokoHandler)]:
        root.removeHandler(old)
        old.close()
    handler = _IsokoHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    handler.addFilter(MaskPhones())
    root.addHandler(handler)
    root.setLevel(numeric)
