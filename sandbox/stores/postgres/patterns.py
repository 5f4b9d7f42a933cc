"""Access patterns as single SQL statements over either design (normalized columns or JSONB expressions).

A design shows its fields through `Layout`: the expression a field is compared, ordered and indexed by (the
column, or `(doc->>'f')::type`), how a parameter is passed for it, and how a change is assigned. Each
answerer is one prepared statement: the server answers, nothing is filtered or summed client-side.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg

from sandbox.stores.contract import AggregateRow, Answerer, NotAnswerable, Params
from sandbox.stores.postgres.mapping import Column
from sandbox.stores.postgres.naming import literal
from sandbox.workload.expr import to_sql
from sandbox.workload.schema import Entity, Model, Pattern

EPOCH = "'1970-01-01 00:00:00+00'::timestamptz"  # buckets start at multiples of `every` since the epoch (oracle)


class Layout(Protocol):
    def table_name(self, entity: str) -> str: ...
    def key_of(self, entity: str) -> Column: ...
    def expr(self, entity: str, field: str, alias: str = "") -> str: ...
    def typed(self, entity: str, field: str, alias: str = "") -> str: ...
    def out(self, entity: str, field: str) -> str: ...
    def param(self, entity: str, field: str, n: int) -> str: ...
    def list_param(self, entity: str, field: str, n: int) -> str: ...
    def encode(self, entity: str, field: str, value: Any) -> Any: ...
    def assign(self, entity: str, changes: Mapping[str, str], alias: str = "") -> str: ...
    @property
    def indexes(self) -> Sequence[Any]: ...  # mapping.Index: what the design builds (indexes.py drops and rebuilds)


class Store(Protocol):
    pool: asyncpg.Pool

    async def write(self, instance: dict[str, Any]) -> None: ...
    def getter(self, p: Pattern) -> Answerer: ...


class _Refused(Exception):
    """A pattern this design cannot put into one statement: why."""


def possible_key(key_column: Column, key: Any) -> bool:
    """Whether a key can be in the key column at all (a UUID column holds no "not-there"; asyncpg would refuse
    to send it)."""
    if not key_column.type.uuid:
        return True
    try:
        uuid.UUID(str(key))
    except ValueError:
        return False
    return True


class Patterns:
    def __init__(self, model: Model, layout: Layout, store: Store):
        self.model, self.layout, self.store = model, layout, store

    def answer(self, p: Pattern) -> Answerer | NotAnswerable:
        build = getattr(self, f"_{p.kind}", None)
        if build is None:
            return NotAnswerable(f"no {p.kind} patterns in this design")
        try:
            return build(p, self.model.entity(p.entity))
        except _Refused as why:
            return NotAnswerable(str(why))

    def _where(self, p: Pattern, e: Entity, first: int) -> tuple[list[str], list[Any]]:
        """Conditions for the pattern's where fields and window, numbered from $first, and how to fill them."""
        lay, conds, fill = self.layout, [], []
        n = first
        for f in p.where:
            if p.within is not None and f == p.where[0]:  # the list of an instance's collection field
                conds.append(f"{lay.expr(e.name, f)} = ANY({lay.list_param(e.name, f, n)})")
            else:
                conds.append(f"{lay.expr(e.name, f)} = {lay.param(e.name, f, n)}")
            fill.append(("value", f))
            n += 1
        if p.range is not None:
            x = lay.expr(e.name, p.range)
            conds.append(f"{x} >= {lay.param(e.name, p.range, n)} AND {x} < {lay.param(e.name, p.range, n + 1)}")
            fill += [("low", p.range), ("high", p.range)]
        if p.filter is not None:
            sql = to_sql(p.filter, lambda f: lay.typed(e.name, f))
            if sql is None:
                raise _Refused(f"the filter {p.filter.text!r} reads beyond the row (a collection or the owner)")
            conds.append(sql)
        return conds, fill

    def _args(self, e: Entity, fill: list, params: Params) -> list[Any]:
        enc = self.layout.encode
        out = []
        for what, f in fill:
            if what == "value":
                v = params.values[f]
                out.append([enc(e.name, f, x) for x in v] if isinstance(v, list) else enc(e.name, f, v))
            else:
                assert params.window is not None
                out.append(enc(e.name, f, params.window[0 if what == "low" else 1]))
        return out

    def _keys(self, p: Pattern, e: Entity, tail: str, conds: list[str], fill: list) -> Answerer:
        key = self.layout.key_of(e.name)
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        # "AS k": a bare key name in ORDER BY must mean the column (its index), not the text output column
        sql = f"SELECT {key.out()} AS k FROM {self.layout.table_name(e.name)}{where}{tail} LIMIT {p.limit}"

        async def keys(params: Params) -> list[Any]:
            return [r[0] for r in await self.store.pool.fetch(sql, *self._args(e, fill, params))]

        return keys

    def _find(self, p: Pattern, e: Entity) -> Answerer:
        conds, fill = self._where(p, e, 1)
        return self._keys(p, e, "", conds, fill)

    def _range(self, p: Pattern, e: Entity) -> Answerer:
        conds, fill = self._where(p, e, 1)
        tail = ""
        if p.order_by is not None:
            way = " DESC" if p.descending else ""
            tail = f" ORDER BY {self.layout.expr(e.name, p.order_by)}{way}, {self.layout.key_of(e.name).q}{way}"
        return self._keys(p, e, tail, conds, fill)

    def _search(self, p: Pattern, e: Entity) -> Answerer:
        # The 'simple' configuration: words lower-cased, no stemming, no stop words (the oracle's tokens); the
        # expression is the GIN index's.
        lay = self.layout
        sql = (f"SELECT {lay.key_of(e.name).out()} FROM {lay.table_name(e.name)} WHERE to_tsvector('simple', "
               f"{lay.expr(e.name, p.field or '')}) @@ plainto_tsquery('simple', $1) LIMIT {p.limit}")

        async def search(params: Params) -> list[Any]:
            return [r[0] for r in await self.store.pool.fetch(sql, params.word or "")]

        return search

    def _get(self, p: Pattern, e: Entity) -> Answerer:
        return self.store.getter(p)

    def _insert(self, p: Pattern, e: Entity) -> Answerer:
        preset = dict(p.set)  # `then` (a decrement after the insert) is the caller's next operation

        async def insert(params: Params) -> None:
            assert params.instance is not None
            await self.store.write({**params.instance, **preset} if preset else params.instance)

        return insert

    def _aggregate(self, p: Pattern, e: Entity) -> Answerer:
        lay = self.layout
        groups = [f"date_bin('{p.bucket.every_ms} milliseconds'::interval, {lay.typed(e.name, p.bucket.field)}, "
                  f"{EPOCH})"] if p.bucket else []
        groups += [lay.out(e.name, f) for f in p.group_by]
        figures = ["count(*)", *(f"sum({lay.typed(e.name, f)})" for f in p.sums),
                   *(f"avg({lay.typed(e.name, f)})" for f in p.avgs)]
        conds, fill = self._where(p, e, 1)
        sql = f"SELECT {', '.join([*groups, *figures])} FROM {lay.table_name(e.name)}"
        sql += f" WHERE {' AND '.join(conds)}" if conds else ""
        sql += f" GROUP BY {', '.join(str(i + 1) for i in range(len(groups)))}" if groups else " HAVING count(*) > 0"
        g, s = len(groups), len(p.sums)
        kinds = [e.field(f).type for f in p.sums]  # type: ignore[union-attr]

        async def aggregate(params: Params) -> list[AggregateRow]:
            rows = await self.store.pool.fetch(sql, *self._args(e, fill, params))
            return [AggregateRow(tuple(r[:g]), r[g], tuple(_number(v, t.kind) for v, t in zip(r[g + 1:g + 1 + s], kinds,
                                                                                               strict=True)),
                                 tuple(float(v) for v in r[g + 1 + s:])) for r in rows]

        return aggregate

    def _transition(self, p: Pattern, e: Entity) -> Answerer:
        lay, f, ver = self.layout, p.field or "", e.version_field
        assert ver is not None  # model_checks: a transition needs a version field
        key = lay.key_of(e.name)
        froms = p.sources or tuple(p.next)
        states = e.field(f).type.values  # type: ignore[union-attr]
        gate = "" if set(states) <= set(froms) else \
            f" AND {lay.expr(e.name, f)} IN ({', '.join(literal(s) for s in froms)})"
        sql = (f"UPDATE {lay.table_name(e.name)} SET "
               f"{lay.assign(e.name, {f: lay.param(e.name, f, 2), ver.name: lay.param(e.name, ver.name, 3)})} "
               f"WHERE {key.q} = $1 AND {lay.expr(e.name, ver.name)} < {lay.param(e.name, ver.name, 3)}{gate} "
               "RETURNING 1")

        async def transition(params: Params) -> bool:
            if not possible_key(key, params.key):
                return False
            state = params.state or p.to
            return await self.store.pool.fetchval(sql, params.key, lay.encode(e.name, f, state),
                                                  params.version) is not None

        return transition

    def _increment(self, p: Pattern, e: Entity) -> Answerer:
        lay, f = self.layout, p.field or ""
        key = lay.key_of(e.name)
        sql = (f"UPDATE {lay.table_name(e.name)} SET {lay.assign(e.name, {f: f'{lay.typed(e.name, f)} + $2'})} "
               f"WHERE {key.q} = $1 RETURNING {lay.typed(e.name, f)}")

        async def increment(params: Params) -> Any:
            if not possible_key(key, params.key):
                return None
            return await self.store.pool.fetchval(sql, params.key, params.amount or p.amount)

        return increment

    def _decrement(self, p: Pattern, e: Entity) -> Answerer:
        """All or none, never below the floor, in one transaction of two statements: lock the targets in key
        order (two calls sharing targets cannot deadlock) and check every one on its newest version, then take
        from all of them or from none (the second statement's snapshot sees the rows as locked: nothing else
        changed them in between). A negative amount gives back (a saga's compensation), under the same lock.

        The lock is FOR NO KEY UPDATE, the one an UPDATE of non-key columns takes: FOR UPDATE would also wait
        for the KEY SHARE locks a concurrent insert of a referencing row holds (an order's items, in item
        order), and the two deadlock. Two statements, not one (a locking CTE feeding an UPDATE): in one
        statement the UPDATE re-finds rows that changed after the statement's snapshot through their newest
        version, and where a KEY SHARE lock shares that version it queues behind the calls waiting for this
        one's own lock: measured here, 16 tasks over 6 products, half of them inserting orders, ~4% of the
        one-statement decrements died in deadlocks (each after deadlock_timeout) and none of these."""
        lay, f = self.layout, p.field or ""
        key = lay.key_of(e.name)
        table, k = lay.table_name(e.name), f"x.{key.q}"
        targets = f"unnest($1::{key.type.elem}[], $2::integer[]) AS t(k, n)"
        lock = (f"SELECT {lay.typed(e.name, f, 'x')} - t.n >= $3 FROM {table} x JOIN {targets} ON {k} = t.k "
                f"ORDER BY {k} FOR NO KEY UPDATE OF x")
        take = (f"UPDATE {table} x SET {lay.assign(e.name, {f: lay.typed(e.name, f, 'x') + ' - t.n'}, 'x')} "
                f"FROM {targets} WHERE {k} = t.k")

        async def decrement(params: Params) -> bool:
            merged: dict[Any, int] = {}
            for target, amount in params.targets:
                if not possible_key(key, target):
                    return False  # no such target: none is taken
                merged[target] = merged.get(target, 0) + amount
            if not merged:
                return True
            keys, amounts = list(merged), list(merged.values())
            async with self.store.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(lock, keys, amounts, p.floor)
                if len(rows) != len(merged) or not all(r[0] for r in rows):
                    return False  # a target missing or short: the transaction ends taking none
                await conn.execute(take, keys, amounts)
            return True

        return decrement


def _number(value: Any, kind: str) -> Any:
    """A sum as the contract has it: exact Decimal for decimals (NUMERIC sums exactly), int, float."""
    if value is None:
        return None
    return value if kind == "decimal" else float(value) if kind == "float" else int(value)
