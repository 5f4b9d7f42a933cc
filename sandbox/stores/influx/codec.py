"""An instance as a line-protocol point, and an InfluxQL row back as a normalised record (mapping.py's design).

The line is built by one generated function per measurement: the bytes influxdb_client's Point writes (tags
and fields in sorted order, a whole float's ".0" trimmed, integers with `i`, empty tags left out;
tests/test_influx_model.py holds them to Point), without Point's per-call dictionaries, sorting and type
dispatch, which cost most of a bulk load's client time (issue 22).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sandbox.stores.contract import exact
from sandbox.stores.influx.mapping import EPOCH, MS, Column, Measurement, tag_text

_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ ", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_STRING = str.maketrans({'"': '\\"', "\\": "\\\\"})
_TEXT = ("id", "keyword", "text", "enum")
_PLAIN_TAG = re.compile(r"[^,= \n\r\t\\]+").fullmatch  # a tag value needing no escape (most of them)


def _tag(value: Any) -> str:
    text = tag_text(value).translate(_KEY)
    return text + " " if text.endswith("\\") else text


def _field_value(c: Column, v: str) -> str:
    """Python source for the field's value in line protocol, reading the expression `v` (evaluated once)."""
    if c.kind in _TEXT:  # escaped only when it has to be: most strings have neither a quote nor a backslash
        return f"'\"' + (x if Q not in (x := {v}) and BS not in x else x.translate(STRING)) + '\"'"
    if c.kind == "int":
        return f"str({v}) + 'i'"
    if c.kind == "bool":
        return f"('true' if {v} else 'false')"
    if c.kind == "timestamp":
        return f"str(({v} - EPOCH) // MS) + 'i'"
    return f"(t[:-2] if (t := str({v})).endswith('.0') else t)"  # decimal, float: Point's text, whole ".0" trimmed


def compile_line(m: Measurement) -> Callable[[Mapping[str, Any]], str]:
    """One generated function per measurement: a concatenation of inline pieces in Point's order (sorted tags,
    sorted fields), a member's piece left out when it is None (an empty tag too, as Point does). Measured here:
    ~6 us for an order's 405-byte line, influxdb_client's Point ~68 us for the same bytes."""
    tags = []
    for c in sorted(m.tags, key=lambda c: c.name):
        # A plain string (nothing to escape) goes in as it is; anything else through tag().
        piece = f"',{c.name.translate(_KEY)}=' + (v if type(v) is str and PLAIN(v) else tag(v))"
        tags.append(f"('' if (v := i[{c.name!r}]) is None or v == '' else {piece})")
    fields = []
    for c in sorted(m.fields, key=lambda c: c.name):
        head = repr(f",{c.name.translate(_KEY)}=")
        fields.append(f"('' if (v := i[{c.name!r}]) is None else {head} + {_field_value(c, 'v')})")
    source = ("def line(i):\n"
              f"    fields = {' + '.join(fields)}\n"
              f"    return ({m.name.translate(_MEASUREMENT)!r} + {' + '.join(tags) or repr('')} + ' ' + fields[1:]\n"
              f"            + ' ' + str((i[{m.time!r}] - EPOCH) // MS))\n")
    scope: dict[str, Any] = {"EPOCH": EPOCH, "MS": MS, "STRING": _STRING, "tag": _tag, "Q": '"', "BS": "\\",
                             "PLAIN": _PLAIN_TAG}
    exec(compile(source, f"<line protocol of {m.name}>", "exec"), scope)
    return scope["line"]


def value_of(c: Column, value: Any) -> Any:
    """A tag's or field's value from InfluxQL's JSON as the contract wants it."""
    if value is None or (value == "" and c.tag):
        return None
    if c.tag and c.kind not in _TEXT:  # a tag holds text: read the typed value back from it
        if c.kind == "bool":
            return value == "true"
        if c.kind == "timestamp":
            return EPOCH + timedelta(milliseconds=int(value))
        value = int(value) if c.kind == "int" else value
    if c.kind == "decimal":
        return exact(value, c.scale)
    if c.kind == "float":
        return float(value)
    if c.kind == "timestamp":
        return EPOCH + timedelta(milliseconds=int(value))
    return value


class Rows:
    """InfluxQL rows (epoch=ms) of one measurement as records: every kept field, None where a point lacks it."""

    def __init__(self, m: Measurement):
        self.m = m
        self.columns = {c.name: c for c in (*m.tags, *m.fields)}

    def records(self, columns: list[str], values: list[list[Any]]) -> list[dict[str, Any]]:
        out = []
        for row in values:
            got = dict(zip(columns, row, strict=True))
            record = {name: value_of(c, got.get(name)) for name, c in self.columns.items()}
            record[self.m.time] = EPOCH + timedelta(milliseconds=int(got["time"]))
            out.append(record)
        return out
