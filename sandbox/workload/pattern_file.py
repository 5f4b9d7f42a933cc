"""Access patterns and mixes of a model file: [pattern.NAME] and [mix.NAME] tables, checked against the entities.

What each kind means and which keys it takes: docs/models.md, "Access patterns".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sandbox.workload.expr import ExprError, parse
from sandbox.workload.schema import PATTERN_KINDS, Bucket, Entity, Mix, Pattern

if TYPE_CHECKING:
    from sandbox.workload.toml_lines import Where

KEYS = {
    "insert": {"then", "set"},
    "get": {"include"},
    "find": {"where", "limit"},
    "range": {"where", "within", "range", "order_by", "descending", "limit", "filter", "span", "width"},
    "search": {"field", "limit"},
    "aggregate": {"where", "range", "span", "group_by", "bucket", "count", "sum", "avg", "check"},
    "transition": {"field", "next", "from", "to", "read_first"},
    "decrement": {"field", "by", "targets", "amount", "floor"},
    "increment": {"field", "amount"},
}
COMMON = {"kind", "entity", "distribution", "skew"}
DISTRIBUTIONS = ("uniform", "zipfian", "latest", "hotspot")
EVERY = re.compile(r"^(\d+)\s*(ms|s|m|h|d)$")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str) -> int | None:
    m = EVERY.match(str(text).strip())
    return int(m.group(1)) * UNIT_MS[m.group(2)] if m and int(m.group(1)) > 0 else None


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def patterns_of(raw: Mapping[str, Any], entities: Mapping[str, Entity], where: Where) -> dict[str, Pattern]:
    root = next((e.name for e in entities.values() if e.role == "root"), "")
    return {name: _pattern(name, spec, entities, root, where) for name, spec in raw.items()}


def _pattern(name: str, spec: Any, entities: Mapping[str, Entity], root: str, where: Where) -> Pattern:
    at = ("pattern", name)
    line = where.line(*at)
    if not isinstance(spec, Mapping) or spec.get("kind") not in PATTERN_KINDS:
        raise where.fail((*at, "kind"), f"pattern {name}: kind must be one of {', '.join(PATTERN_KINDS)}")
    kind = spec["kind"]
    if bad := sorted(set(spec) - COMMON - KEYS[kind]):
        raise where.fail((*at, bad[0]), f"pattern {name}: a {kind} pattern takes no {bad[0]!r} "
                         f"(it takes {', '.join(sorted(KEYS[kind] | COMMON))})")
    entity_name = str(spec.get("entity", root))
    entity = entities.get(entity_name)
    if entity is None:
        raise where.fail((*at, "entity"), f"pattern {name}: unknown entity {entity_name!r}; entities: "
                         f"{', '.join(entities)}")

    def need_field(key: str, value: str, of: Entity = entity) -> str:
        if of.field(value) is None or of.field(value).hidden:  # type: ignore[union-attr]
            fields = ", ".join(f.name for f in of.stored_fields)
            raise where.fail((*at, key), f"pattern {name}: {of.name} has no field {value!r} ({fields})")
        return value

    distribution = str(spec.get("distribution", "uniform"))
    if distribution not in DISTRIBUTIONS:
        raise where.fail((*at, "distribution"), f"pattern {name}: distribution must be one of "
                         f"{', '.join(DISTRIBUTIONS)}")
    values: dict[str, Any] = {"distribution": distribution, "skew": float(spec.get("skew", 0.99))}
    for key in ("where", "group_by"):
        values[key] = tuple(need_field(key, f) for f in _names(spec.get(key)))
    for key in ("range", "order_by", "field"):
        if key in spec:
            values[key] = need_field(key, str(spec[key]))
    if kind in ("search", "transition", "decrement", "increment") and "field" not in spec:
        raise where.fail(at, f"pattern {name}: a {kind} pattern needs field = \"...\"")
    if "limit" in spec:
        limit = spec["limit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
            raise where.fail((*at, "limit"), f"pattern {name}: limit must be a whole number from 1 to 10000")
        values["limit"] = limit
    elif kind in ("find", "range", "search"):
        values["limit"] = 100
    if "span" in spec:
        values["span"] = int(spec["span"])
    if "width" in spec:
        values["width"] = spec["width"]
    if "filter" in spec:
        try:
            values["filter"] = parse(str(spec["filter"]))
        except ExprError as exc:
            raise where.fail((*at, "filter"), f"pattern {name}: {exc}") from None
        for used in values["filter"].names:
            need_field("filter", used)
    if kind == "range" and not (values.get("range") or values.get("where")):
        raise where.fail(at, f"pattern {name}: a range pattern needs range = \"a field\" or where = [...]")
    if kind == "range" and "within" in spec:
        values["within"] = str(spec["within"])
    if kind == "range":
        values["descending"] = bool(spec.get("descending", False))
    if kind == "get":
        include = _names(spec.get("include"))
        for child in include:
            if child not in {c.name for c in entity.children}:
                raise where.fail((*at, "include"), f"pattern {name}: {entity.name} owns no collection {child!r}")
        values["include"] = include
    if kind == "aggregate":
        values["sums"] = tuple(need_field("sum", f) for f in _names(spec.get("sum")))
        values["avgs"] = tuple(need_field("avg", f) for f in _names(spec.get("avg")))
        values["count"] = bool(spec.get("count", True))
        values["check"] = bool(spec.get("check", False))
        if (b := spec.get("bucket")) is not None:
            every = duration_ms(b.get("every", "")) if isinstance(b, Mapping) else None
            if every is None or "field" not in b:
                raise where.fail((*at, "bucket"), f"pattern {name}: bucket = {{ field = \"a timestamp\", "
                                 "every = \"1h\" }} (ms, s, m, h, d)")
            values["bucket"] = Bucket(need_field("bucket", str(b["field"])), every)
    if kind == "transition":
        values["next"] = dict(spec.get("next", {}))
        values["sources"] = _names(spec.get("from"))
        values["to"] = spec.get("to")
        values["read_first"] = spec.get("read_first", False)
        if not isinstance(values["read_first"], bool):
            raise where.fail((*at, "read_first"), f"pattern {name}: read_first is true or false")
        if not values["next"] and not (values["sources"] and values["to"]):
            raise where.fail(at, f"pattern {name}: a transition needs next = {{ from_state = \"to_state\", ... }} "
                             "or from = [...] and to = \"...\"")
    if kind in ("decrement", "increment"):
        amount = spec.get("amount", 1)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
            raise where.fail((*at, "amount"), f"pattern {name}: amount must be a whole number >= 1")
        values["amount"] = amount
    if kind == "decrement":
        values["by"] = spec.get("by")
        values["targets"] = spec.get("targets")
        values["floor"] = int(spec.get("floor", 0))
    if kind == "insert":
        values["then"] = spec.get("then")
        values["set"] = dict(spec.get("set", {}))
        for f in values["set"]:
            need_field("set", f)
    return Pattern(name, kind, entity_name, line, **values)


def mixes_of(raw: Mapping[str, Any], patterns: Mapping[str, Pattern], where: Where) -> dict[str, Mix]:
    mixes = {}
    for name, weights in raw.items():
        at = ("mix", name)
        if not isinstance(weights, Mapping) or not weights:
            raise where.fail(at, f"mix {name}: expected pattern = share pairs, e.g. get_order = 95")
        shares = []
        for pattern, share in weights.items():
            if pattern not in patterns:
                raise where.fail((*at, pattern), f"mix {name}: unknown pattern {pattern!r}; patterns: "
                                 f"{', '.join(patterns) or 'none'}")
            if not isinstance(share, int | float) or isinstance(share, bool) or not math.isfinite(share) or share < 0:
                raise where.fail((*at, pattern), f"mix {name}: the share of {pattern} must be a number >= 0")
            shares.append((pattern, float(share)))
        total = sum(s for _, s in shares)
        if total <= 0:
            raise where.fail(at, f"mix {name}: the shares add up to nothing; give one a positive share")
        mixes[name] = Mix(name, tuple((p, s / total) for p, s in shares), where.line(*at))
        if problem := mix_problem(mixes[name], patterns):
            raise where.fail(at, problem)
    return mixes


def mix_problem(mix: Mix, patterns: Mapping[str, Pattern]) -> str | None:
    """Why the patterns of a mix cannot run together, or None: a read-modify-write transition takes its version from
    what it reads, so no other transition of the mix may set versions of the same entity."""
    moves = [patterns[p] for p, share in mix.weights if share > 0 and patterns[p].kind == "transition"]
    for rmw in (t for t in moves if t.read_first):
        if other := next((t for t in moves if t is not rmw and t.entity == rmw.entity), None):
            return (f"mix {mix.name}: {rmw.name} reads the version it sets (read_first), so {other.name} cannot "
                    f"set versions of {rmw.entity} in the same mix; put them in separate mixes")
    return None
