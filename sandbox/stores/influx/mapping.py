"""InfluxDB's physical design of a domain model, derived without a server: measurements and InfluxQL per pattern.

Event-stream entities only (docs/models.md): a measurement per stream entity (its plural) in the run's
database, the stream's tags as tags, the other stored scalar fields as fields (decimals as float64, read
back through contract.exact; ints as integer fields; bools; strings; other timestamps as integer ms), the
point's time the stream's time field at ms precision. The key is a field (a tag per instance would be a
series per instance), so a read by key is an InfluxQL query that scans the measurement. Owned collections
are not kept (their derived scalars, such as a count, are fields like any other). A point is identified by
(tags, time): two instances of one series at the same millisecond would be one point, which spaced stream
times rule out.

Entities that are not streams (reference data, roots without a stream) are not suited: nothing is kept.
A design option `fields = [...]` (a model variant, e.g. `[variant.lean] store = "influx"`) keeps only the
fields it names (the key always): a lean point, as a metrics pipeline writes; patterns on a field left out
are not answerable.
Points are appended and can only be overwritten whole, never conditionally: transitions, decrements,
increments and upserts are not answerable; neither is full-text search.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.contract import Kept
from sandbox.workload.schema import Entity, Model, Pattern

APPEND_ONLY = ("points are appended: one can be overwritten whole at the same series and time, never "
               "conditionally (no version gate, no read-modify-write)")
NO_SEARCH = "InfluxQL has no full-text search (regular expressions over a field would scan every point)"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
WHOLE_RANGE = "time >= -9223372036854775806 AND time <= 9223372036854775806"  # GROUP BY time() ends at now() without it


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    scale: int = 0
    tag: bool = False


@dataclass(frozen=True)
class Measurement:
    entity: str
    name: str
    key: str
    time: str
    tags: tuple[Column, ...]
    fields: tuple[Column, ...]  # the key among them

    def column(self, name: str) -> Column | None:
        return next((c for c in (*self.tags, *self.fields) if c.name == name), None)


@dataclass(frozen=True)
class Query:
    """A pattern's InfluxQL with its parameter slots: `{where}` and `{window}` are filled per call."""

    pattern: Pattern
    measurement: Measurement
    text: str


@dataclass(frozen=True)
class Design:
    measurements: Mapping[str, Measurement]
    unsuited: Mapping[str, str]  # entity -> why it is not kept
    plans: Mapping[str, Query | str]
    money: str = "float64"


def ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def epoch_ms(at: datetime) -> int:
    return (at - EPOCH) // MS


def tag_text(value: Any) -> str:
    """A value as a tag holds it (tags are strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(epoch_ms(value))
    return str(value)


def literal(c: Column | None, value: Any) -> str:
    """A value as InfluxQL compares it with the column (tags are strings; fields keep their type)."""
    if c is None or c.tag:
        return quote(tag_text(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if c.kind == "timestamp":
        return str(epoch_ms(value))
    if c.kind in ("decimal", "float", "int"):
        return str(value)
    return quote(str(value))


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _column(e: Entity, name: str, tag: bool) -> Column:
    f = e.field(name)
    assert f is not None
    return Column(f.name, f.type.kind, f.type.scale, tag)


def _measurement(e: Entity, only: Collection[str] | None = None) -> Measurement | str:
    if e.stream is None:
        return f"not suited: {e.name} is not an event stream (no [entity.{e.name}.stream] time and tags)"
    tags = tuple(_column(e, t, True) for t in e.stream.tags)
    fields = tuple(_column(e, f.name, False) for f in e.stored_fields
                   if f.name != e.stream.time and f.name not in e.stream.tags
                   and (only is None or f.name in only or f.name == e.key))
    return Measurement(e.name, e.plural, e.key, e.stream.time, tags, fields)


class NotInfluxQL(ValueError):
    """A filter InfluxQL's WHERE cannot say."""


_CMP = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def where_sql(t: tuple, m: Measurement) -> str:
    """An expression tree (expr.py) as an InfluxQL condition over the measurement's tags and fields."""
    kind = t[0]
    if kind == "lit":
        v = t[1]
        if v is None or isinstance(v, bool):
            raise NotInfluxQL("a null or boolean literal")
        return quote(v) if isinstance(v, str) else str(v)
    if kind == "name":
        c = m.column(t[1])
        if c is None:
            raise NotInfluxQL(f"{t[1]} is not kept")
        return "time" if t[1] == m.time else ident(t[1])
    if kind == "cmp":
        for side in (t[2], t[3]):
            c = m.column(side[1]) if side[0] == "name" else None
            if c is not None and c.tag and t[1] not in ("==", "!="):
                raise NotInfluxQL(f"{c.name} is a tag: InfluxQL compares tags for equality only")
        return f"{where_sql(t[2], m)} {_CMP[t[1]]} {where_sql(t[3], m)}"
    if kind == "bin":
        return f"({where_sql(t[2], m)} {t[1]} {where_sql(t[3], m)})"
    if kind == "neg":
        return f"(-{where_sql(t[1], m)})"
    if kind == "bool":
        return "(" + f" {t[1].upper()} ".join(where_sql(x, m) for x in t[2]) + ")"
    raise NotInfluxQL(f"InfluxQL's WHERE has no {kind}")


def _range(p: Pattern, m: Measurement) -> str:
    if p.order_by is not None and p.order_by != m.time:
        return f"InfluxQL orders by time only, not by {p.order_by}"
    for f in (p.range, p.order_by):
        if f is not None and f != m.time and m.column(f) is None:
            return f"{f} is not kept"
    if p.range is not None and p.range != m.time and p.order_by is not None:
        return f"InfluxQL orders by time only: the window is on {p.range}"
    text = f"SELECT {ident(m.key)} FROM {ident(m.name)} WHERE {{where}}"
    if p.filter is not None:
        try:
            text += f" AND {where_sql(p.filter.tree, m)}"
        except NotInfluxQL as exc:
            return f"the filter cannot be said in InfluxQL: {exc}"
    if p.order_by is not None:
        text += " ORDER BY time" + (" DESC" if p.descending else "")
    return text + f" LIMIT {int(p.limit)}"


def _aggregate(p: Pattern, m: Measurement) -> str:
    for f in (*p.sums, *p.avgs):
        if m.column(f) is None:
            return f"{f} is not kept"
    for g in p.group_by:
        c = m.column(g)
        if c is None or not c.tag:
            return f"InfluxQL groups by tags and time only: {g} is a field"
    figures = [f"count({ident(m.key)})"] + [f"sum({ident(f)})" for f in p.sums] + \
        [f"mean({ident(f)})" for f in p.avgs]
    groups = ([f"time({p.bucket.every_ms}ms)"] if p.bucket else []) + [ident(g) for g in p.group_by]
    text = f"SELECT {', '.join(figures)} FROM {ident(m.name)} WHERE {{where}}"
    if p.bucket is not None and p.bucket.field != m.time:
        return f"InfluxQL buckets the point's time only, not {p.bucket.field}"
    return text + (f" GROUP BY {', '.join(groups)} fill(none)" if groups else "")


def _plan(p: Pattern, measurements: Mapping[str, Measurement], unsuited: Mapping[str, str]) -> Query | str:
    if p.entity in unsuited:
        return unsuited[p.entity]
    m = measurements[p.entity]
    if p.kind in ("transition", "decrement", "increment"):
        return APPEND_ONLY
    if p.kind == "search":
        return NO_SEARCH
    for f in p.where:
        if m.column(f) is None:
            return f"{f} is not kept"
    if p.kind == "get":
        return Query(p, m, f"SELECT * FROM {ident(m.name)} WHERE {ident(m.key)} = {{key}}")
    if p.kind == "find":
        return Query(p, m, f"SELECT {ident(m.key)} FROM {ident(m.name)} WHERE {{where}} LIMIT {int(p.limit)}")
    text = _range(p, m) if p.kind == "range" else _aggregate(p, m) if p.kind == "aggregate" else ""
    if p.kind in ("range", "aggregate") and not text.startswith("SELECT"):
        return text
    return Query(p, m, text)  # insert: text unused (a write)


def fields_option(model: Model, options: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The `fields` design option checked against the root's stored fields (None: keep every field)."""
    given = (options or {}).get("fields")
    if given is None:
        return None
    root = model.root_entity
    known = {f.name for f in root.stored_fields}
    if not isinstance(given, list | tuple) or not all(isinstance(f, str) for f in given):
        raise UsageError("influx: the design option fields takes a list of field names")
    unknown = [f for f in given if f not in known]
    if unknown:
        raise UsageError(f"influx: fields {', '.join(unknown)} are not stored fields of {root.name}; choose from "
                         f"{', '.join(sorted(known))}")
    return tuple(given)


def derive(model: Model, options: Mapping[str, Any] | None = None) -> Design:
    """The design of `model`; the one design option, `fields`, keeps only those fields of each measurement."""
    only = fields_option(model, options)
    measurements: dict[str, Measurement] = {}
    unsuited: dict[str, str] = {}
    for e in model.entities.values():
        if e.role == "child":
            owner = model.owner_of(e.name)
            unsuited[e.name] = f"not kept: {e.name} is owned by {owner[0].name if owner else 'another entity'}; " \
                               "a point holds scalars only (derived ones such as counts are fields)"
            continue
        got = _measurement(e, only)
        if isinstance(got, str):
            unsuited[e.name] = got
        else:
            measurements[e.name] = got
    plans = {name: _plan(p, measurements, unsuited) for name, p in model.patterns.items()}
    return Design(measurements, unsuited, plans)


def kept(design: Design, entity: str) -> Kept:
    m = design.measurements.get(entity)
    if m is None:
        return Kept(())
    return Kept(tuple(sorted([m.time, *(c.name for c in (*m.tags, *m.fields))])))


def describe(design: Design, db: str = "{ns}") -> str:
    lines = [f"database {db}"]
    for m in design.measurements.values():
        tags = ", ".join(c.name for c in m.tags)
        fields = ", ".join(f"{c.name} ({_field_type(c)})" for c in m.fields)
        lines.append(f"measurement {m.name}: time = {m.time} (ms); tags {tags or 'none'}; fields {fields}")
        lines.append(f"  read by key: SELECT * FROM {ident(m.name)} WHERE {ident(m.key)} = '...' (scans the "
                     "measurement: the key is a field)")
    for entity, why in design.unsuited.items():
        lines.append(f"{entity}: {why}")
    lines.append("writes: one line-protocol POST /write?precision=ms per root; a batch: one POST")
    return "\n".join(lines)


def _field_type(c: Column) -> str:
    return {"decimal": "float64", "float": "float64", "int": "integer", "bool": "boolean",
            "timestamp": "integer ms"}.get(c.kind, "string")
