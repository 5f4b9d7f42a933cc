"""Answerers of the InfluxDB model store: each pattern is one InfluxQL statement (mapping.py wrote its text).

The `{where}` slot gets the pattern's equality conditions (tags or fields; a `within` list as ORs), the
window on the range field, or, without a window, the whole time range: InfluxDB 1.x ends a GROUP BY time()
query at now() when it names no upper bound, which would drop points stamped later.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from sandbox.stores.contract import AggregateRow, Answer, Answerer, Params
from sandbox.stores.influx.codec import value_of
from sandbox.stores.influx.mapping import EPOCH, WHOLE_RANGE, Query, epoch_ms, ident, literal


class Host(Protocol):
    """What the answerers use of the InfluxDB model store (model_store.py)."""

    async def query(self, q: str) -> list[dict[str, Any]]: ...
    async def read(self, entity: str, key: Any) -> dict[str, Any] | None: ...
    async def write(self, instance: dict[str, Any]) -> None: ...


def answerer(store: Host, plan: Query) -> Answerer:
    return {"get": _get, "insert": _insert, "find": _keys, "range": _keys,
            "aggregate": _aggregate}[plan.pattern.kind](store, plan)


def _condition(plan: Query, params: Params) -> str | None:
    """The WHERE of one call; None when it cannot match (a null where value of a field)."""
    p, m = plan.pattern, plan.measurement
    parts = []
    for i, f in enumerate(p.where):
        c = m.column(f)
        value = params.values[f]
        if p.within is not None and i == 0:
            listed = list(dict.fromkeys(value))
            if not listed:
                return None
            parts.append("(" + " OR ".join(f"{ident(f)} = {literal(c, v)}" for v in listed) + ")")
        elif value is None:
            if c is None or not c.tag:
                return None
            parts.append(f"{ident(f)} = ''")  # a point without the tag
        else:
            parts.append(f"{ident(f)} = {literal(c, value)}")
    if params.window is not None and p.range is not None:
        low, high = params.window
        if p.range == m.time:
            parts.append(f"time >= {epoch_ms(low)}ms AND time < {epoch_ms(high)}ms")
        else:
            c = m.column(p.range)
            parts.append(f"{ident(p.range)} >= {literal(c, low)} AND {ident(p.range)} < {literal(c, high)}")
    else:
        parts.append(WHOLE_RANGE)
    return " AND ".join(parts)


def _get(store: Host, plan: Query) -> Answerer:
    entity = plan.measurement.entity

    async def get(params: Params) -> Answer:
        return await store.read(entity, params.key)
    return get


def _insert(store: Host, plan: Query) -> Answerer:
    fixed = dict(plan.pattern.set)

    async def insert(params: Params) -> Answer:
        assert params.instance is not None
        await store.write({**params.instance, **fixed} if fixed else params.instance)
        return None
    return insert


def _keys(store: Host, plan: Query) -> Answerer:
    async def keys(params: Params) -> Answer:
        where = _condition(plan, params)
        if where is None:
            return []
        series = await store.query(plan.text.format(where=where))
        return [row[1] for s in series for row in s["values"]]  # columns: time, key
    return keys


def _aggregate(store: Host, plan: Query) -> Answerer:
    p, m = plan.pattern, plan.measurement
    groups = [m.column(g) for g in p.group_by]
    kinds = [m.column(f) for f in p.sums]

    def group(s: dict[str, Any], at: Any) -> tuple[Any, ...]:
        tags = s.get("tags") or {}
        out: list[Any] = [EPOCH + timedelta(milliseconds=int(at))] if p.bucket else []
        for c in groups:
            assert c is not None
            out.append(value_of(c, tags.get(c.name)))
        return tuple(out)

    async def aggregate(params: Params) -> Answer:
        where = _condition(plan, params)
        if where is None:
            return []
        rows = []
        for s in await store.query(plan.text.format(where=where)):
            for at, count, *figures in s["values"]:
                if not count:
                    continue
                sums = figures[:len(p.sums)]
                # float64 sums stay floats (AggregateRow: Decimal only where the store sums exactly)
                sums = [int(v) if c is not None and c.kind == "int" and v is not None else v
                        for v, c in zip(sums, kinds, strict=True)]
                rows.append(AggregateRow(group(s, at), int(count), tuple(sums),
                                         tuple(float(v) for v in figures[len(p.sums):])))
        return rows
    return aggregate

