"""The access patterns of a model on MongoDB: each answered by one server query or write (docs/models.md).

find / range: one `find` with the equality, window and filter (`$expr`) in the filter, sorted by the order
field then `_id` (the oracle's tie-break); search: a server-side `$regex` on word boundaries (no text index
on the stand-in; `$text` would stem and drop stop words anyway); aggregate: one `aggregate` ($match, $group
with epoch-aligned buckets, exact Decimal128 sums); transition: one `update_one` with the version gate in
the filter; decrement: one conditional `update_one` for a single target, a transaction for several;
increment: `find_one_and_update`. Answerers look their collection up per call: answer() needs no connection
(`sandbox model show` asks every pattern without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from bson.decimal128 import Decimal128
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import OperationFailure

from sandbox.stores.contract import AggregateRow, Answerer, NotAnswerable, Params, optimistic
from sandbox.stores.mongo.mapping import filter_expr
from sandbox.workload.oracle import TOKEN
from sandbox.workload.schema import Model, Pattern


class Host(Protocol):
    """What the answerers use of the store (model_store.py)."""

    design: Any  # mapping.MongoDesign
    model: Model
    client: Any  # AsyncMongoClient
    write_concern: Any

    def collection(self, entity: str) -> Any: ...
    async def fetch(self, entity: str, key: Any, left_out: Mapping[str, int]) -> dict[str, Any] | None: ...
    async def write(self, instance: dict[str, Any]) -> None: ...

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOTHING: dict[str, Any] = {"_id": {"$in": []}}  # a filter no document matches


def answerer(store: Host, p: Pattern) -> Answerer | NotAnswerable:
    why = store.design.unanswerable(p)
    if why is not None:
        return NotAnswerable(why)
    return {"insert": _insert, "get": _get, "find": _find, "range": _find, "search": _search,
            "aggregate": _aggregate, "transition": _transition, "decrement": _decrement,
            "increment": _increment}[p.kind](store, p)


def _value(v: Any) -> Any:
    """A parameter as the server compares it (decimals as Decimal128)."""
    if isinstance(v, Decimal):
        return Decimal128(v)
    return [_value(x) for x in v] if isinstance(v, list) else v


def _match(store: Host, p: Pattern, params: Params) -> dict[str, Any]:
    """The filter of a find / range / aggregate: equality (IN for a list), the window, the filter expression."""
    path = store.design.path
    out: dict[str, Any] = {}
    for f, v in params.values.items():
        out[path(p.entity, f)] = {"$in": _value(v)} if isinstance(v, list) else _value(v)
    if params.window is not None and p.range is not None:
        low, high = params.window
        out[path(p.entity, p.range)] = {"$gte": _value(low), "$lt": _value(high)}
    if p.filter is not None:
        out["$expr"] = filter_expr(store.design, p.entity, p.filter)
    return out


def _insert(store: Host, p: Pattern) -> Answerer:
    preset = dict(p.set)

    async def insert(params: Params) -> None:
        assert params.instance is not None
        await store.write({**params.instance, **preset} if preset else params.instance)

    return insert


def _get(store: Host, p: Pattern) -> Answerer:
    entity = store.model.entity(p.entity)
    left_out = {c.name: 0 for c in entity.children if c.name not in p.include}

    async def get(params: Params) -> Any:
        return await store.fetch(p.entity, params.key, left_out)

    return get


def _find(store: Host, p: Pattern) -> Answerer:
    direction = -1 if p.descending else 1
    sort = [(store.design.path(p.entity, p.order_by), direction), ("_id", direction)] if p.order_by else None

    async def find(params: Params) -> list[Any]:
        cursor = store.collection(p.entity).find(_match(store, p, params), {"_id": 1}, sort=sort, limit=p.limit)
        return [d["_id"] for d in await cursor.to_list(None)]

    return find


def _search(store: Host, p: Pattern) -> Answerer:
    path = store.design.path(p.entity, str(p.field))

    async def search(params: Params) -> list[Any]:
        word = params.word or ""
        # a word is a whole token ([A-Za-z0-9]+, any case, as the oracle splits text); anything else is in no text
        query = ({path: {"$regex": f"(^|[^A-Za-z0-9]){word}([^A-Za-z0-9]|$)", "$options": "i"}}
                 if TOKEN.fullmatch(word) else NOTHING)
        found = await store.collection(p.entity).find(query, {"_id": 1}, limit=p.limit).to_list(None)
        return [d["_id"] for d in found]

    return search


def _aggregate(store: Host, p: Pattern) -> Answerer:
    path = store.design.path
    key: dict[str, Any] = {}
    if p.bucket is not None:  # epoch-aligned buckets of every_ms, as the oracle's bucket_start
        ms = {"$toLong": "$" + path(p.entity, p.bucket.field)}
        key["b"] = {"$subtract": [ms, {"$mod": [ms, p.bucket.every_ms]}]}
    for i, f in enumerate(p.group_by):
        key[f"g{i}"] = "$" + path(p.entity, f)
    group: dict[str, Any] = {"_id": key or None, "n": {"$sum": 1}}
    group.update({f"s{i}": {"$sum": "$" + path(p.entity, f)} for i, f in enumerate(p.sums)})
    group.update({f"a{i}": {"$avg": "$" + path(p.entity, f)} for i, f in enumerate(p.avgs)})

    def plain(v: Any) -> Any:
        return v.to_decimal() if isinstance(v, Decimal128) else v

    async def aggregate(params: Params) -> list[AggregateRow]:
        match = _match(store, p, params)
        pipeline = ([{"$match": match}] if match else []) + [{"$group": group}]
        rows = []
        for r in await (await store.collection(p.entity).aggregate(pipeline)).to_list(None):
            k = r["_id"] or {}
            head = (EPOCH + timedelta(milliseconds=k["b"]),) if p.bucket is not None else ()
            rows.append(AggregateRow(
                head + tuple(plain(k.get(f"g{i}")) for i in range(len(p.group_by))), r["n"],
                tuple(plain(r[f"s{i}"]) for i in range(len(p.sums))),
                tuple(float(plain(r[f"a{i}"])) for i in range(len(p.avgs)))))
        return rows

    return aggregate


def _transition(store: Host, p: Pattern) -> Answerer:
    field = store.design.path(p.entity, str(p.field))
    version = store.design.path(p.entity, store.design.version_field)
    sources = list(p.sources or p.next)  # the states it may leave

    async def transition(params: Params) -> bool:
        # one document, one filtered update: the gate (older version, a state it may leave) and the write at once
        result = await store.collection(p.entity).update_one(
            {"_id": params.key, version: {"$lt": params.version}, field: {"$in": sources}},
            {"$set": {field: params.state, version: params.version}})
        return result.modified_count == 1

    return transition


def _decrement(store: Host, p: Pattern) -> Answerer:
    field = store.design.path(p.entity, str(p.field))

    def take(key: Any, amount: int) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"_id": key, field: {"$gte": p.floor + amount}}, {"$inc": {field: -amount}}

    if "." not in (p.targets or ""):  # one target per operation: one conditional update is atomic by itself
        async def decrement_one(params: Params) -> bool:
            (key, amount), = params.targets
            return (await store.collection(p.entity).update_one(*take(key, amount))).modified_count == 1

        return decrement_one

    async def decrement(params: Params) -> bool:
        # several documents, all or none: one bulk_write in a transaction, aborted when one is short; a write
        # conflict with a concurrent transaction aborts it as well (not applied: there are no retries)
        async with store.client.start_session() as session:
            await session.start_transaction(write_concern=store.write_concern)
            try:
                result = await store.collection(p.entity).bulk_write(
                    [UpdateOne(*take(k, a)) for k, a in params.targets], session=session)
                if result.modified_count != len(params.targets):
                    await session.abort_transaction()
                    return False
                await session.commit_transaction()
            except OperationFailure as exc:
                if session.in_transaction:
                    await session.abort_transaction()
                if exc.has_error_label("TransientTransactionError"):
                    return False
                raise
        return True

    return optimistic(decrement)  # a write conflict aborts a transaction at once


def _increment(store: Host, p: Pattern) -> Answerer:
    field = store.design.path(p.entity, str(p.field))

    async def increment(params: Params) -> Any:
        doc = await store.collection(p.entity).find_one_and_update(
            {"_id": params.key}, {"$inc": {field: params.amount}}, projection={field: 1, "_id": 0},
            return_document=ReturnDocument.AFTER)
        return None if doc is None else doc[field]

    return increment

