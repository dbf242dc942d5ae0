"""Changing YAML without rewriting it: ruamel.yaml's round-trip mode keeps
comments, key order, quoting and flow style, so a changed French text
changes one line of the YAML and the diff between versions shows just that.

The menu screen form and the SMS texts form both edit through these.
"""
from __future__ import annotations

import io
import re

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString


class FormError(ValueError):
    """The form cannot be applied; the message says which field and why."""


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.allow_unicode = True
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


def dump_roundtrip(y: YAML, data) -> str:
    """`data` written back by `y` (from `load_roundtrip`)."""
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


_KEY_LINE = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")
_DASH_LINE = re.compile(r"^( *)- ")


def guess_indent(source: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel.yaml wants them, read from the
    first nested key and the first block sequence of `source`."""
    mapping, sequence, offset = 2, 4, 2
    previous = None
    found_mapping = found_sequence = False
    for line in source.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, dash = _KEY_LINE.match(previous or ""), _DASH_LINE.match(line)
        if key and dash and not found_sequence:
            offset = max(len(dash.group(1)) - len(key.group(1)), 0)
            sequence, found_sequence = offset + 2, True
        elif key and not dash and not found_mapping:
            indent = len(line) - len(line.lstrip(" "))
            if indent > len(key.group(1)):
                mapping, found_mapping = indent - len(key.group(1)), True
        previous = line
    return mapping, sequence, offset


def load_roundtrip(source: str):
    """The round-trip data and a YAML instance that writes it back in the
    source's own indentation."""
    y = _yaml(*guess_indent(source))
    try:
        return y, y.load(source)
    except RuamelError as exc:
        raise FormError(f"the YAML does not parse: {exc}") from None


def quoted(value: str) -> DoubleQuotedScalarString:
    """`value` written double-quoted (a text never turns into a number or a bool)."""
    return DoubleQuotedScalarString(value)


def clean_text(value: str) -> str:
    """A text as a browser posts it (CRLF, padded) as we store it."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()
