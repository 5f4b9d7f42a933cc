"""Redis's physical design of a domain model, derived without a server: key layout, index structures, plans.

Every stored entity (the root and the reference entities) is a hash per instance, `{ns}:{entity}:{key}`:
scalar fields as text (decimals as their exact text, timestamps as epoch ms, bools as 1/0), each owned
collection as one JSON field (a list of rows, the child's fields in order, its parent key left out: it is
the owner's key). Beside the hashes, per entity, the structures its access patterns need, all kept by the
same write (lua.py generates the scripts):

- a sorted set of every key, scored by the entity's time field (scans; time-range patterns reuse it);
- a set per `where` value of each find pattern;
- a sorted set per `where` value of each range pattern, scored by the range / order field;
- a counter hash per aggregate pattern without a window (per `where` value): a count per group and, per
  summed field, the sum in integer units at the field's scale (exact), a float sum for float fields.

Each pattern gets a plan (what the answerer runs) or the reason it cannot be answered natively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.stores.contract import Kept, exact
from sandbox.workload.schema import Bucket, Entity, Model, Pattern

SEP = "\x1f"  # between the values of a group in a counter field name
NULL = "\x00"  # a null value in a script's arguments (a hash cannot hold one: the field is left out)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NUMERIC = ("int", "decimal", "float", "timestamp")
NO_SEARCH = ("no full-text index: the Debian Redis 7.0 server has no RediSearch module (a client-side word "
             "match would fetch every instance)")


@dataclass(frozen=True)
class Column:
    """One stored scalar field."""

    name: str
    kind: str
    scale: int = 0


@dataclass(frozen=True)
class Collection:
    """An owned collection, kept as one JSON field of its owner's hash (rows in position order)."""

    name: str
    entity: str
    columns: tuple[Column, ...]
    collections: tuple[Collection, ...] = ()


@dataclass(frozen=True)
class SetIndex:
    where: tuple[str, ...]

    @property
    def reads(self) -> tuple[str, ...]:
        return self.where


@dataclass(frozen=True)
class SortedIndex:
    where: tuple[str, ...]
    score: str | None  # None: every member scores 0 (lexicographic order)

    @property
    def reads(self) -> tuple[str, ...]:
        return self.where + ((self.score,) if self.score else ())


@dataclass(frozen=True)
class Counter:
    pattern: str
    where: tuple[str, ...]
    bucket: Bucket | None
    group_by: tuple[str, ...]
    sums: tuple[str, ...]  # the fields summed (the pattern's sums, then its averages' fields)

    @property
    def reads(self) -> tuple[str, ...]:
        return self.where + ((self.bucket.field,) if self.bucket else ()) + self.group_by + self.sums


Structure = SetIndex | SortedIndex | Counter


@dataclass(frozen=True)
class Layout:
    """One stored entity: its hash's fields and the structures its writes keep."""

    entity: str
    base: str  # the structures' key stem: `{ns}:{base}...` (the plural)
    key: str
    columns: tuple[Column, ...]
    collections: tuple[Collection, ...]
    every: SortedIndex  # all keys, by the entity's time field (or 0)
    structures: tuple[Structure, ...]  # `every` first
    version: str  # the field a version gate reads ("_version" when the entity has none)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Plan:
    """What an answerer does for one pattern (kind-specific parts in `index`, `counter`, ...)."""

    pattern: Pattern
    layout: Layout
    index: SortedIndex | SetIndex | None = None
    counter: Counter | None = None
    server_filter: bool = False  # range: the filter runs in a Lua script over the sorted set's window


@dataclass(frozen=True)
class Design:
    layouts: Mapping[str, Layout]
    plans: Mapping[str, Plan | str]  # pattern -> plan, or why it is not answerable
    money: str = "exact decimal"
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- key names (the namespace first, so teardown's SCAN of `{ns}:*` finds all of them) ---------------------

def hash_key(ns: str, entity: str, key: Any) -> str:
    return f"{ns}:{entity}:{key}"


def _where_part(where: tuple[str, ...], values: tuple[str, ...]) -> str:
    return "".join(f":{f}={v}" for f, v in zip(where, values, strict=True))


def index_key(ns: str, layout: Layout, s: Structure, values: tuple[str, ...]) -> str:
    """The key of a structure for encoded where values (a template when the values are placeholders)."""
    where = _where_part(s.where, values)
    if isinstance(s, SetIndex):
        return f"{ns}:{layout.base}{where}"
    if isinstance(s, SortedIndex):
        return f"{ns}:{layout.base}{where}:by:{s.score}" if s.score else f"{ns}:{layout.base}{where}:all"
    return f"{ns}:{layout.base}:agg:{s.pattern}{where}"


# --- values as the hash holds them --------------------------------------------------------------------------

def encode(kind: str, value: Any) -> str:
    if value is None:
        return NULL
    if kind == "timestamp":
        return str((value - EPOCH) // timedelta(milliseconds=1))
    if kind == "bool":
        return "1" if value else "0"
    if kind == "float":
        return repr(float(value))
    return str(value)


def decode(c: Column, text: str | None) -> Any:
    if text is None:
        return None
    if c.kind == "int":
        return int(text)
    if c.kind == "decimal":
        return exact(text, c.scale)
    if c.kind == "float":
        return float(text)
    if c.kind == "timestamp":
        return EPOCH + timedelta(milliseconds=int(text))
    if c.kind == "bool":
        return text == "1"
    return text


def cell(kind: str, value: Any) -> Any:
    """A child's value in its owner's JSON field."""
    if value is None or kind in ("int", "float", "bool"):
        return value
    if kind == "timestamp":
        return (value - EPOCH) // timedelta(milliseconds=1)
    return str(value)


def uncell(c: Column, value: Any) -> Any:
    if value is None:
        return None
    if c.kind == "decimal":
        return exact(value, c.scale)
    if c.kind == "timestamp":
        return EPOCH + timedelta(milliseconds=int(value))
    return value


def score_text(kind: str, value: Any) -> str:
    """A window bound as a sorted-set score (the same text the hash holds)."""
    return encode(kind, value)


# --- derivation ------------------------------------------------------------------------------------------------

def _columns(e: Entity) -> tuple[Column, ...]:
    return tuple(Column(f.name, f.type.kind, f.type.scale) for f in e.stored_fields if not f.parent_key)


def _collection(model: Model, e: Entity) -> tuple[Collection, ...]:
    out = []
    for c in e.children:
        child = model.entity(c.entity)
        out.append(Collection(c.name, child.name, _columns(child), _collection(model, child)))
    return tuple(out)


def _time_field(e: Entity) -> str | None:
    if e.stream is not None:
        return e.stream.time
    return next((f.name for f in e.stored_fields if f.type.kind == "timestamp"), None)


def _range_plan(p: Pattern, e: Entity) -> SortedIndex | str:
    if p.range and p.order_by and p.range != p.order_by:
        return (f"a sorted set is ordered by its score: the window is on {p.range} but the order on "
                f"{p.order_by}")
    score = p.range or p.order_by or _time_field(e)
    f = e.field(score) if score else None
    if f is not None and f.type.kind not in NUMERIC:
        return f"a sorted set scores numbers: {score} is {f.type}"
    if p.filter is not None and (p.filter.collections or p.filter.parent_names):
        return "the filter reads owned collections: a script over the window sees only the hash's scalar fields"
    return SortedIndex(p.where, score)


def _counter(p: Pattern) -> Counter | str:
    if p.range is not None:
        return ("counters are kept per group for all time: a window needs the instances, and reading them back "
                "to count in the client is what the sandbox never does")
    sums = tuple(dict.fromkeys(p.sums + p.avgs))
    return Counter(p.name, p.where, p.bucket, p.group_by, sums)


def _needs(p: Pattern, e: Entity) -> Structure | str | None:
    """The structure a pattern reads (kept by every write), the reason it cannot be served, or None."""
    if p.kind == "search":
        return NO_SEARCH
    if p.kind == "find":
        return SetIndex(p.where)
    if p.kind == "range":
        return _range_plan(p, e)
    if p.kind == "aggregate":
        return _counter(p)
    return None  # get, insert, transition, decrement, increment: the hash and the scripts


def _layout(model: Model, e: Entity, structures: list[Structure]) -> Layout:
    base = e.plural if e.plural != e.name else f"{e.plural}.idx"
    every = SortedIndex((), _time_field(e))
    version = e.version_field.name if e.version_field else "_version"
    return Layout(e.name, base, e.key, _columns(e), _collection(model, e), every,
                  (every, *dict.fromkeys(s for s in structures if s != every)), version)


def derive(model: Model, options: Mapping[str, Any] | None = None) -> Design:
    """The design of `model` (Redis has no design options: `options` is accepted for the factory's sake)."""
    needs = {name: _needs(p, model.entity(p.entity)) for name, p in model.patterns.items()}
    structures: dict[str, list[Structure]] = {e.name: [] for e in model.entities.values() if e.role != "child"}
    for name, need in needs.items():
        entity = model.patterns[name].entity
        if entity in structures and not isinstance(need, str | None):
            structures[entity].append(need)
    layouts = {name: _layout(model, model.entity(name), found) for name, found in structures.items()}
    plans: dict[str, Plan | str] = {}
    for name, need in needs.items():
        p = model.patterns[name]
        layout = layouts.get(p.entity)
        if layout is None:
            plans[name] = f"{p.entity} is owned by another entity: it lives inside its owner's hash"
        elif isinstance(need, str):
            plans[name] = need
        elif isinstance(need, Counter):
            plans[name] = Plan(p, layout, counter=need)
        else:
            plans[name] = Plan(p, layout, index=need,
                               server_filter=p.kind == "range" and (p.filter is not None or p.within is not None))
    return Design(layouts, plans)


def kept(design: Design, entity: str) -> Kept:
    layout = design.layouts.get(entity)
    if layout is None:
        return Kept(())
    return Kept(tuple(c.name for c in layout.columns),
                {c.name: tuple(col.name for col in c.columns) for c in layout.collections})


def describe(design: Design, ns: str = "{ns}") -> str:
    lines = []
    for layout in design.layouts.values():
        cols = ", ".join(f"{c.name}" + ("" if c.kind in ("id", "keyword", "text", "enum") else f" ({c.kind})")
                         for c in layout.columns)
        lines.append(f"hash {hash_key(ns, layout.entity, '{' + layout.key + '}')}: {cols}")
        for coll in layout.collections:
            lines.append(f"  field {coll.name}: JSON rows [{', '.join(c.name for c in coll.columns)}]")
        for s in layout.structures:
            placeholders = tuple("{" + f + "}" for f in s.where)
            key = index_key(ns, layout, s, placeholders)
            if isinstance(s, SetIndex):
                lines.append(f"  set {key}: keys (find)")
            elif isinstance(s, SortedIndex):
                what = "all keys (scan)" if s == layout.every else "keys"
                lines.append(f"  sorted set {key}: {what} scored by {s.score or '0'}")
            else:
                group = ([f"{s.bucket.field}/{s.bucket.every_ms}ms"] if s.bucket else []) + list(s.group_by)
                sums = "".join(f", s.{f}" for f in s.sums)
                exact = " (sums in integer units)" if sums else ""
                lines.append(f"  hash {key}: per group ({', '.join(group) or 'all'}): n{sums}{exact}")
    lines.append("writes: one Lua script per root (EVALSHA: hash + index entries + counters, atomic); "
                 "a batch: those scripts in one MULTI/EXEC")
    for name, plan in design.plans.items():
        if not isinstance(plan, str) and plan.server_filter:
            how = "merged from the listed values' sorted sets" if plan.pattern.within else "filtered"
            lines.append(f"pattern {name}: {how} by a Lua script over the window (on the server)")
    return "\n".join(lines)

