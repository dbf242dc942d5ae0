"""Logging: one line per record, phone numbers and secrets masked, other numbers intact."""
from __future__ import annotations

import logging
import re

import pytest

from gateway.core.logs import MaskPhones, configure_logging, mask

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\w+) ([\w.]+) (.*)$")


@pytest.fixture
def root_logging():
    """Restore the root logger's handlers and level after a test reconfigures it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def masked_caplog(caplog):
    """caplog whose handler also carries the filter, to inspect masked records."""
    caplog.handler.addFilter(MaskPhones())
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+250788123456", "+2507******56"),
        ("%2B250788123456", "%2B2507******56"),
        ("250788123456", "25078*****56"),
        ("0788123456", "07881***56"),
        ("+14155550123", "+1415*****23"),
        ("phone=0788123456,0722000111", "phone=07881***56,07220***11"),
        ('{"phoneNumber": "+250788123456"}', '{"phoneNumber": "+2507******56"}'),
    ],
)
def test_phone_numbers_keep_five_chars_and_last_two_digits(raw, masked):
    assert mask(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "qty 50 of beans at 18,000 RWF",
        "price=18000 quantity=50 order=1042",
        "ts=1712345678901 took 0.0123s",
        "listing A0788123456 stays",  # an id, not a phone: letters touch it
        "07881234567 is eleven digits",
        "already masked +2507******56",
    ],
)
def test_ordinary_numbers_are_not_mangled(text):
    assert mask(text) == text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("POST /at/ussd?token=s3cr3t-value-123&x=1", "POST /at/ussd?token=***&x=1"),
        ("CALLBACK_TOKEN=abcdef0123456789", "CALLBACK_TOKEN=***"),
        ("headers={'apiKey': 'atsk_0788123456', 'Accept': 'json'}",
         "headers={'apiKey': '***', 'Accept': 'json'}"),
        ('{"apiKey": "k-1"}', '{"apiKey": "***"}'),
        ("apikey=abc&username=isoko", "apikey=***&username=isoko"),
        ("AT_API_KEY=xyz", "AT_API_KEY=***"),
        ("Authorization: Bearer isk_live_1", "Authorization: Bearer ***"),
    ],
)
def test_tokens_and_api_keys_are_masked(raw, masked):
    assert mask(raw) == masked


def test_filter_masks_numbers_passed_as_args(masked_caplog):
    logging.getLogger("gateway.sms").info("sent %s to %s", "18,000 RWF", "+250788123456")
    record = masked_caplog.records[-1]
    assert record.getMessage() == "sent 18,000 RWF to +2507******56"
    assert record.args == ()
    assert "250788123456" not in masked_caplog.text


def test_filter_masks_numbers_split_across_format_and_args(masked_caplog):
    # Only formatting first catches a number built from the template and an arg.
    logging.getLogger("gateway").info("to +2507%s", "88123456")
    assert masked_caplog.records[-1].getMessage() == "to +2507******56"


def test_filter_masks_mapping_args(masked_caplog):
    logging.getLogger("gateway").info("%(phone)s bought %(qty)d", {"phone": "0788123456", "qty": 50})
    assert masked_caplog.records[-1].getMessage() == "07881***56 bought 50"


def test_filter_never_raises_on_a_bad_format():
    record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "oops %d", ("0788123456",), None)
    assert MaskPhones().filter(record) is True
    message = record.getMessage()
    assert "0788123456" not in message and "07881***56" in message


def test_configured_output_is_one_masked_line(root_logging, capsys):
    configure_logging("info")
    log = logging.getLogger("gateway.ussd")
    log.info("hop from %s text=%r", "+250788123456", "1*2\n3")
    log.debug("hidden at INFO")
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    level, name, message = LINE.match(lines[0]).groups()
    assert (level, name) == ("INFO", "gateway.ussd")
    assert message == "hop from +2507******56 text='1*2\\n3'"


def test_configured_output_masks_tracebacks(root_logging, capsys):
    configure_logging("ERROR")
    try:
        raise ValueError("bad number 0788123456 in /at/ussd?token=abc")
    except ValueError:
        logging.getLogger("gateway").exception("callback failed for %s", "250788123456")
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    for leaked in ("0788123456", "250788123456", "token=abc"):
        assert leaked not in err
    assert "ValueError: bad number 07881***56" in err
    assert "callback failed for 25078*****56" in err


def test_configure_is_idempotent(root_logging, capsys):
    configure_logging("INFO")
    configure_logging("WARNING")
    logging.getLogger("gateway").warning("once")
    assert capsys.readouterr().err.count("once") == 1
    assert root_logging.level == logging.WARNING


def test_configure_rejects_unknown_levels(root_logging):
    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("LOUD")
