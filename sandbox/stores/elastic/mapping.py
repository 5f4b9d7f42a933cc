"""Elasticsearch's physical design of a model, derived without touching a server (docs/models.md).

An index per root and per reference entity, `<namespace>-<plural>`, `_id` = the key (kept in `_source` as a
keyword too: sorts break ties on it), a strict mapping from the field types: `keyword` for ids, keywords and
enums; `text` for text searched by word (with a `raw` keyword subfield when it is also matched exactly),
`keyword` for other text; `scaled_float` with scaling_factor 10^scale for decimals (sent as strings, so
`_source` reads back exactly; aggregations are doubles); `date` for timestamps; owned children `nested`
(their parent key left out: the owner's `_id` is it). Only what a search or aggregation reads is indexed (the
key and the fields patterns filter, sort, group, sum or search on); the rest is stored only (`index: false`,
no doc values: kept in `_source`, returned, never searched), which halves the stand-in's cost of indexing
an order. A pattern's filter becomes query clauses where it is a
comparison of fields with constants (Painless scripts, which arithmetic would need, do not run everywhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.workload.expr import Expr
from sandbox.workload.schema import Entity, Field, Model, Pattern

_TYPES = {"id": "keyword", "keyword": "keyword", "enum": "keyword", "int": "long", "float": "double",
          "timestamp": "date", "bool": "boolean"}
_RANGE = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Index:
    entity: Entity
    name: str
    mapping: Mapping[str, Any]


@dataclass(frozen=True)
class ElasticDesign:
    model: Model
    namespace: str
    indices: Mapping[str, Index]  # root and reference entities

    def index(self, entity: str) -> str:
        return self.indices[entity].name

    def exact(self, entity: str, field: str) -> str:
        """The field a term / sort / aggregation on `field` uses (a searched text field's keyword subfield)."""
        f = self.model.entity(entity).field(field)
        return f"{field}.raw" if f is not None and f.type.kind == "text" and f.text_search else field

    def unanswerable(self, p: Pattern) -> str | None:
        if p.entity not in self.indices:
            return f"patterns on owned children ({p.entity}) are not served: they are nested in their owner"
        if p.filter is not None and filter_query(self, p.entity, p.filter) is None:
            return (f"filter {p.filter.text!r} is not a comparison of fields with constants: it needs a script "
                    "query (Painless), which the osmem stand-in does not run")
        if p.kind == "decrement" and "." in (p.targets or ""):
            return ("all-or-none over several documents needs a transaction, and Elasticsearch has none "
                    "(one document per target)")
        return None

    def describe(self) -> str:
        return describe(self)


def derive(model: Model, namespace: str) -> ElasticDesign:
    exact, queried = _matched_exactly(model), _queried(model)
    indices = {e.name: Index(e, f"{namespace}-{e.plural}", {"dynamic": "strict", "properties": properties(
        model, e, exact, queried, top=True)}) for e in model.entities.values() if e.role != "child"}
    return ElasticDesign(model, namespace, indices)


def _matched_exactly(model: Model) -> set[tuple[str, str]]:
    """(entity, field) pairs a pattern compares, sorts or groups by exactly (a searched text field then needs
    its `raw` keyword subfield)."""
    out: set[tuple[str, str]] = set()
    for p in model.patterns.values():
        for f in (*p.where, *p.group_by, *([p.order_by] if p.order_by else []), *([p.range] if p.range else [])):
            out.add((p.entity, f))
    return out


def _queried(model: Model) -> set[tuple[str, str]]:
    """(entity, field) pairs some search or aggregation reads: the key, and what patterns filter, sort, group,
    bucket, sum, average or search on. Only these are indexed; the rest is kept in _source and returned."""
    out = {(e.name, e.key) for e in model.entities.values() if e.key and e.role != "child"}
    for p in model.patterns.values():
        if p.kind not in ("find", "range", "search", "aggregate"):
            continue  # get, updates and inserts go by _id
        names = (*p.where, *p.group_by, *p.sums, *p.avgs, *(p.filter.names if p.filter is not None else ()),
                 *(f for f in (p.order_by, p.range, p.field, p.bucket.field if p.bucket else None) if f))
        out.update((p.entity, f) for f in names)
    return out


def field_mapping(f: Field, exactly: bool, indexed: bool) -> dict[str, Any]:
    """A field's mapping; one no search reads is stored only (in _source: no index, no doc values)."""
    kind = f.type.kind
    if kind == "text" and f.text_search:  # searched by word: the model says so
        out: dict[str, Any] = {"type": "text"}
        if exactly:
            out["fields"] = {"raw": {"type": "keyword"}}
        return out
    if kind == "decimal":
        out = {"type": "scaled_float", "scaling_factor": 10 ** f.type.scale}
    else:
        out = {"type": "keyword" if kind == "text" else _TYPES[kind]}
    return out if indexed else {**out, "index": False, "doc_values": False}


def properties(model: Model, e: Entity, exact: set[tuple[str, str]], queried: set[tuple[str, str]],
               top: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in e.stored_fields:
        if f.parent_key and not top:
            continue
        props[f.name] = field_mapping(f, (e.name, f.name) in exact, (e.name, f.name) in queried)
    for c in e.children:
        child = model.entity(c.entity)
        props[c.name] = {"type": "nested", "properties": properties(model, child, exact, queried, top=False)}
    return props


def wire(v: Any) -> Any:
    """A value as the JSON the server compares: decimals as text (exact), times as ISO with milliseconds."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime):
        return v.isoformat(timespec="milliseconds")
    return [wire(x) for x in v] if isinstance(v, list) else v


def filter_query(design: ElasticDesign, entity: str, expr: Expr) -> dict[str, Any] | None:
    """A filter as a query: comparisons of a field with a constant (range / term), and / or / not of them."""
    if expr.parent_names or expr.collections:
        return None
    return _query(design, entity, expr.tree)


def _query(design: ElasticDesign, entity: str, t: tuple) -> dict[str, Any] | None:
    kind = t[0]
    if kind == "bool":
        parts = [_query(design, entity, x) for x in t[2]]
        if any(q is None for q in parts):
            return None
        return {"bool": {"filter" if t[1] == "and" else "should": parts,
                         **({"minimum_should_match": 1} if t[1] == "or" else {})}}
    if kind == "not":
        inner = _query(design, entity, t[1])
        return None if inner is None else {"bool": {"must_not": [inner]}}
    if kind == "name":  # a bool field on its own
        f = design.model.entity(entity).field(t[1])
        return {"term": {t[1]: True}} if f is not None and f.type.kind == "bool" else None
    if kind == "cmp":
        op, left, right = t[1], t[2], t[3]
        if left[0] == "lit" and right[0] == "name":
            op, left, right = _FLIP.get(op, op), right, left
        if left[0] != "name" or right[0] != "lit" or design.model.entity(entity).field(left[1]) is None:
            return None
        field, value = design.exact(entity, left[1]), wire(right[1])
        if value is None:  # == None / != None: whether the field has a value
            exists = {"exists": {"field": field}}
            return exists if op == "!=" else {"bool": {"must_not": [exists]}} if op == "==" else None
        if op in _RANGE:
            return {"range": {field: {_RANGE[op]: value}}}
        term = {"term": {field: value}}
        return term if op == "==" else {"bool": {"must_not": [term]}}
    return None


def describe(d: ElasticDesign) -> str:
    lines = ["Elasticsearch: an index per root and reference entity, strict mappings, 1 shard, 0 replicas; "
             "decimals as scaled_float (sent as text: _source is exact, aggregations are doubles); writes with "
             "refresh per es_refresh (default off), reads by id realtime, searches near-real-time (an answerer "
             "refreshes once, on its first call)"]
    for ix in d.indices.values():
        e = ix.entity
        lines.append(f"index {ix.name} ({e.role} {e.name}; _id = {e.key})")
        lines.append("  mapping: " + _props(ix.mapping["properties"]))
        unique = [f.name for f in e.stored_fields if f.unique]
        if unique:
            lines.append(f"  unique {', '.join(unique)}: not enforced (no unique constraint but _id)")
    for p in d.model.patterns.values():
        why = d.unanswerable(p)
        lines.append(f"pattern {p.name} ({p.kind}): " + (f"not answerable: {why}" if why else how(d, p)))
    return "\n".join(lines)


def _props(props: Mapping[str, Any]) -> str:
    out = []
    for name, m in props.items():
        if m["type"] == "nested":
            out.append(f"{name}: nested {{{_props(m['properties'])}}}")
        elif m["type"] == "scaled_float":
            out.append(f"{name}: scaled_float({m['scaling_factor']})")
        else:
            out.append(f"{name}: {m['type']}" + ("+raw" if "fields" in m else ""))
        if m.get("index") is False:
            out[-1] += " (stored only)"
    return ", ".join(out)


OPTIMISTIC = ("a GET (realtime, with _seq_no), the check, then an update with if_seq_no/if_primary_term: a "
              "concurrent write in between makes it refuse (409) instead of wait, and it is not retried")


def how(d: ElasticDesign, p: Pattern) -> str:
    return {
        "insert": "one index request (op_type create); batches one _bulk",
        "get": "GET by _id (realtime), " + (f"with {', '.join(p.include)}" if p.include else "no children"),
        "find": f"search: term filters on {', '.join(p.where)}",
        "range": f"search: filters, sorted by {p.order_by or '-'} then the key, size {p.limit}",
        "search": f"search: match on {p.field} (standard analyzer)",
        "aggregate": "search size 0: composite aggregation (" + ", ".join(
            ([f"date_histogram fixed_interval {p.bucket.every_ms}ms"] if p.bucket else []) +
            [f"terms {g}" for g in p.group_by]) + ") with sum / avg (doubles)" if p.bucket or p.group_by
        else "search size 0: sum / avg aggregations (doubles)",
        "transition": f"{OPTIMISTIC}; False then",
        "decrement": f"{OPTIMISTIC}; False then",
        "increment": f"{OPTIMISTIC}; the call fails then (Conflict)",
    }[p.kind]
