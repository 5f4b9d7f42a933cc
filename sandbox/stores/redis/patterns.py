"""Answerers of the Redis model store: each pattern as one command or one script on the server.

get: HGETALL. find: SRANDMEMBER on the where value's set (any `limit` distinct matches). range: ZRANGE BYSCORE
on the where value's sorted set; with a filter or a `within` list, one Lua script walks the window(s) on the
server, reads the filter's fields from each hash there, and merges several sets by (score, key). aggregate:
HGETALL of the counter hash (sums in integer units, exact). transition / decrement / increment / insert: one
script each (lua.py), atomic.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from sandbox.stores.contract import AggregateRow, Answer, Answerer, Params, exact
from sandbox.stores.redis import lua
from sandbox.stores.redis.mapping import NULL, SEP, Column, Plan, SortedIndex, decode, encode, index_key, score_text

_TIME = Column("bucket", "timestamp")  # a bucket's start, epoch ms in the counter's field name



class Host(Protocol):
    """What the answerers use of the Redis model store (model_store.py)."""

    namespace: str

    @property
    def client(self) -> Any: ...
    def hash_key(self, entity: str, key: Any) -> str: ...
    def script(self, name: tuple[str, ...], text: Callable[[], str]) -> Any: ...
    async def read(self, entity: str, key: Any, include: Sequence[str] | None = None) -> dict[str, Any] | None: ...
    async def write(self, instance: dict[str, Any]) -> None: ...


def answerer(store: Host, plan: Plan) -> Answerer:
    return {"get": _get, "insert": _insert, "find": _find, "range": _range, "aggregate": _aggregate,
            "transition": _transition, "decrement": _decrement, "increment": _increment}[plan.pattern.kind](store, plan)


def _values(plan: Plan, params: Params) -> tuple[str, ...] | None:
    """The where values as the keys spell them; None when one is null (nothing is indexed under null)."""
    assert plan.index is not None or plan.counter is not None
    where = (plan.index or plan.counter).where  # type: ignore[union-attr]
    out = []
    for f in where:
        col = plan.layout.column(f)
        v = encode(col.kind if col else "text", params.values[f])
        if v == NULL:
            return None
        out.append(v)
    return tuple(out)


def _get(store: Host, plan: Plan) -> Answerer:
    entity, include = plan.layout.entity, plan.pattern.include

    async def get(params: Params) -> Answer:
        return await store.read(entity, params.key, include)
    return get


def _insert(store: Host, plan: Plan) -> Answerer:
    fixed = dict(plan.pattern.set)

    async def insert(params: Params) -> Answer:
        assert params.instance is not None
        await store.write({**params.instance, **fixed} if fixed else params.instance)
        return None
    return insert


def _find(store: Host, plan: Plan) -> Answerer:
    assert plan.index is not None
    index, limit = plan.index, plan.pattern.limit

    async def find(params: Params) -> Answer:
        values = _values(plan, params)
        if values is None:
            return []
        return await store.client.srandmember(index_key(store.namespace, plan.layout, index, values), limit)
    return find


def _range(store: Host, plan: Plan) -> Answerer:
    p, layout, index = plan.pattern, plan.layout, plan.index
    assert isinstance(index, SortedIndex)
    col = layout.column(index.score) if index.score else None
    kind = col.kind if col else "int"
    script = store.script(("range", p.name), lambda: lua.range_script(layout, p.filter)) if plan.server_filter \
        else None
    hashes = f"{store.namespace}:{layout.entity}:"
    desc = p.descending

    def keys(params: Params) -> list[str]:
        if p.within is not None:  # the first where field holds a list: a set per value, merged
            first = p.where[0]
            listed = dict.fromkeys(params.values[first])
            rest = [_values(plan, Params(values={**params.values, first: v})) for v in listed]
            return [index_key(store.namespace, layout, index, v) for v in rest if v is not None]
        values = _values(plan, params)
        return [] if values is None else [index_key(store.namespace, layout, index, values)]

    async def range_(params: Params) -> Answer:
        found = keys(params)
        if not found:
            return []
        low, high = ("-inf", "+inf") if params.window is None else \
            (score_text(kind, params.window[0]), "(" + score_text(kind, params.window[1]))
        if script is not None:
            return await script(store.client, found, [store.namespace, hashes, low, high, p.limit, int(desc)])
        bounds = (high, low, "BYSCORE", "REV") if desc else (low, high, "BYSCORE")
        return await store.client.execute_command("ZRANGE", found[0], *bounds, "LIMIT", 0, p.limit)
    return range_


def _aggregate(store: Host, plan: Plan) -> Answerer:
    p, layout, counter = plan.pattern, plan.layout, plan.counter
    assert counter is not None
    groups = [layout.column(f) for f in counter.group_by]
    sums = {f: layout.column(f) for f in counter.sums}

    def group(text: str) -> tuple[Any, ...]:
        parts = text.split(SEP) if counter.bucket or counter.group_by else []
        out: list[Any] = []
        if counter.bucket:
            out.append(decode(_TIME, parts.pop(0)))
        out += [None if v == NULL else decode(c, v) for c, v in zip(groups, parts, strict=True)]  # type: ignore[arg-type]
        return tuple(out)

    def total(f: str, text: str) -> Any:
        c = sums[f]
        assert c is not None
        if c.kind == "decimal":
            return exact(Decimal(int(text)).scaleb(-c.scale), c.scale)
        return float(text) if c.kind == "float" else int(text)

    async def aggregate(params: Params) -> Answer:
        values = _values(plan, params)
        if values is None:
            return []
        raw = await store.client.hgetall(index_key(store.namespace, layout, counter, values))
        figures: dict[str, dict[str, str]] = {}
        for name, value in raw.items():
            figure, _, g = name.partition("|")
            figures.setdefault(g, {})[figure] = value
        rows = []
        for g, fig in figures.items():
            n = int(fig.get("n", 0))
            if n <= 0:
                continue  # every instance of the group moved to another (transitions)
            got = {f: total(f, fig.get(f"s.{f}", "0")) for f in counter.sums}
            rows.append(AggregateRow(group(g), n, tuple(got[f] for f in p.sums),
                                     tuple(float(got[f]) / n for f in p.avgs)))
        return rows
    return aggregate


def _transition(store: Host, plan: Plan) -> Answerer:
    p, layout = plan.pattern, plan.layout
    assert p.field is not None
    script = store.script(("transition", p.name), lambda: lua.transition_script(layout, p.field or "", p.sources))

    async def transition(params: Params) -> Answer:
        return bool(await script(store.client, [store.hash_key(layout.entity, params.key)],
                                 [store.namespace, params.state, params.version]))
    return transition


def _decrement(store: Host, plan: Plan) -> Answerer:
    p, layout = plan.pattern, plan.layout
    script = store.script(("decrement", p.name), lambda: lua.decrement_script(layout, p.field or "", p.floor))

    async def decrement(params: Params) -> Answer:
        amounts: Tally[Any] = Tally()
        for key, amount in params.targets:  # one target named twice takes both amounts, checked together
            amounts[key] += amount
        if not amounts:
            return True
        keys = [store.hash_key(layout.entity, k) for k in amounts]
        return bool(await script(store.client, keys, [store.namespace, *amounts.values()]))
    return decrement


def _increment(store: Host, plan: Plan) -> Answerer:
    p, layout = plan.pattern, plan.layout
    script = store.script(("increment", p.name), lambda: lua.increment_script(layout, p.field or ""))

    async def increment(params: Params) -> Answer:
        got = await script(store.client, [store.hash_key(layout.entity, params.key)],
                           [store.namespace, params.amount])
        return None if got is None else int(got)
    return increment

