"""The access patterns of a model on Elasticsearch: each one search, GET or conditional update (docs/models.md).

find / range / search: one search (term / terms / range filters, a match for a word, sorted by the order
field then the key); aggregate: one search of size 0 with a composite aggregation (a date_histogram with a
fixed interval, terms) and sum / avg (doubles: scaled_float is a double in aggregations); get: a GET by id
(realtime). Search answerers refresh their index once, on their first call, so what was written before
they were bound is searchable; after that they see what the refresh interval has made visible, as any reader.
Transitions, single-target decrements and increments are optimistic (no Painless: the stand-in runs none):
a GET with _seq_no, the check, an update with if_seq_no / if_primary_term; a 409 is a refusal, never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from elasticsearch import ConflictError

from sandbox.stores.contract import AggregateRow, Answerer, Conflict, NotAnswerable, Params, exact, optimistic
from sandbox.stores.elastic.mapping import filter_query, wire
from sandbox.workload.oracle import TOKEN
from sandbox.workload.schema import Model, Pattern


class Host(Protocol):
    """What the answerers use of the store (model_store.py)."""

    design: Any  # mapping.ElasticDesign
    model: Model
    es: Any  # AsyncElasticsearch

    version_field: str
    refresh: str | None  # the refresh parameter writes send (None: not sent)

    async def fetch(self, entity: str, key: Any, left_out: Sequence[str]) -> dict[str, Any] | None: ...
    async def write(self, instance: dict[str, Any]) -> None: ...

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE = 10_000  # composite buckets per request; more groups than this page on with after_key


def answerer(store: Host, p: Pattern) -> Answerer | NotAnswerable:
    why = store.design.unanswerable(p)
    if why is not None:
        return NotAnswerable(why)
    build = {"insert": _insert, "get": _get, "find": _find, "range": _find, "search": _search,
             "aggregate": _aggregate, "transition": _transition, "decrement": _decrement,
             "increment": _increment}[p.kind]
    made = build(store, p)
    return _refreshed_once(store, p, made) if p.kind in ("find", "range", "search", "aggregate") else made


def _refreshed_once(store: Host, p: Pattern, fn: Answerer) -> Answerer:
    index = store.design.index(p.entity)
    fresh = False

    async def call(params: Params) -> Any:
        nonlocal fresh
        if not fresh:
            await store.es.indices.refresh(index=index)
            fresh = True
        return await fn(params)

    return call


def _filters(store: Host, p: Pattern, params: Params) -> list[dict[str, Any]]:
    exact_field = store.design.exact
    out: list[dict[str, Any]] = []
    for f, v in params.values.items():
        name = exact_field(p.entity, f)
        out.append({"terms": {name: wire(v)}} if isinstance(v, list) else {"term": {name: wire(v)}})
    if params.window is not None and p.range is not None:
        low, high = params.window
        out.append({"range": {exact_field(p.entity, p.range): {"gte": wire(low), "lt": wire(high)}}})
    if p.filter is not None:
        out.append(filter_query(store.design, p.entity, p.filter) or {})
    return out


def _insert(store: Host, p: Pattern) -> Answerer:
    preset = dict(p.set)

    async def insert(params: Params) -> None:
        assert params.instance is not None
        await store.write({**params.instance, **preset} if preset else params.instance)

    return insert


def _get(store: Host, p: Pattern) -> Answerer:
    left_out = [c.name for c in store.model.entity(p.entity).children if c.name not in p.include]

    async def get(params: Params) -> Any:
        return await store.fetch(p.entity, params.key, left_out)

    return get


def _keys(store: Host, p: Pattern, query: Callable[[Params], dict[str, Any]],
          sort: list[dict[str, str]] | None) -> Answerer:
    index = store.design.index(p.entity)

    async def keys(params: Params) -> list[Any]:
        resp = await store.es.search(index=index, query=query(params), size=p.limit or PAGE, sort=sort,
                                     source=False, track_total_hits=False)
        return [h["_id"] for h in resp["hits"]["hits"]]

    return keys


def _find(store: Host, p: Pattern) -> Answerer:
    direction = "desc" if p.descending else "asc"
    key = store.model.entity(p.entity).key
    sort = [{store.design.exact(p.entity, p.order_by): direction}, {key: direction}] if p.order_by else None
    return _keys(store, p, lambda params: {"bool": {"filter": _filters(store, p, params)}}, sort)


def _search(store: Host, p: Pattern) -> Answerer:
    field = str(p.field)

    def query(params: Params) -> dict[str, Any]:
        word = params.word or ""
        if not TOKEN.fullmatch(word):  # a word is a whole token ([A-Za-z0-9]+, as the oracle splits text)
            return {"ids": {"values": []}}
        return {"bool": {"filter": _filters(store, p, params), "must": [{"match": {field: word}}]}}

    return _keys(store, p, query, None)


def _aggregate(store: Host, p: Pattern) -> Answerer:
    index = store.design.index(p.entity)
    entity = store.model.entity(p.entity)
    metrics: dict[str, Any] = {f"s{i}": {"sum": {"field": f}} for i, f in enumerate(p.sums)}
    metrics.update({f"a{i}": {"avg": {"field": f}} for i, f in enumerate(p.avgs)})
    sources: list[dict[str, Any]] = []
    if p.bucket is not None:  # fixed intervals start at the epoch, as the oracle's bucket_start
        sources.append({"b": {"date_histogram": {"field": p.bucket.field, "fixed_interval": f"{p.bucket.every_ms}ms"}}})
    sources += [{f"g{i}": {"terms": {"field": store.design.exact(p.entity, f)}}} for i, f in enumerate(p.group_by)]

    def group_value(f: str, v: Any) -> Any:
        kind = entity.field(f).type.kind  # type: ignore[union-attr]
        if kind == "decimal":
            return exact(v, entity.field(f).type.scale)  # type: ignore[union-attr]
        if kind == "timestamp":
            return EPOCH + timedelta(milliseconds=v)
        return bool(v) if kind == "bool" else v

    def figures(b: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[float, ...]]:
        sums = tuple(_sum(entity.field(f).type.kind, b[f"s{i}"]["value"])  # type: ignore[union-attr]
                     for i, f in enumerate(p.sums))
        return sums, tuple(float(b[f"a{i}"]["value"]) for i in range(len(p.avgs)))

    async def aggregate(params: Params) -> list[AggregateRow]:
        query = {"bool": {"filter": _filters(store, p, params)}}
        if not sources:  # one group of everything that matches
            resp = await store.es.search(index=index, query=query, size=0, aggs=metrics or None, track_total_hits=True)
            n = resp["hits"]["total"]["value"]
            return [AggregateRow((), n, *figures(resp.get("aggregations", {})))] if n else []
        rows, after = [], None
        while True:
            composite: dict[str, Any] = {"size": PAGE, "sources": sources, **({"after": after} if after else {})}
            resp = await store.es.search(index=index, query=query, size=0, track_total_hits=False,
                                         aggs={"g": {"composite": composite, **({"aggs": metrics} if metrics else {})}})
            buckets = resp["aggregations"]["g"]["buckets"]
            for b in buckets:
                k = b["key"]
                head = (EPOCH + timedelta(milliseconds=k["b"]),) if p.bucket is not None else ()
                rows.append(AggregateRow(head + tuple(group_value(f, k[f"g{i}"]) for i, f in enumerate(p.group_by)),
                                         b["doc_count"], *figures(b)))
            after = resp["aggregations"]["g"].get("after_key")
            if len(buckets) < PAGE or after is None:
                return rows

    return aggregate


def _sum(kind: str, value: float) -> Any:
    """An aggregation's double: an int field's sum is exact below 2^53, a decimal's stays a double (drift shows)."""
    return int(value) if kind == "int" else value


def _conditional(store: Host, p: Pattern, source: list[str],
                 change: Callable[[dict[str, Any], Params], dict[str, Any] | None],
                 conflict: Callable[[], Any]) -> Callable[[Params, Any], Awaitable[Any]]:
    """GET (realtime, with _seq_no) -> change(source, params): the fields to write or None -> update if unchanged."""
    index = store.design.index(p.entity)

    async def apply(params: Params, key: Any) -> Any:
        doc = await store.es.options(ignore_status=404).get(index=index, id=key, source_includes=source)
        if not doc.get("found"):
            return None
        fields = change(doc["_source"], params)
        if fields is None:
            return False
        try:
            await store.es.update(index=index, id=key, doc=fields, if_seq_no=doc["_seq_no"],
                            if_primary_term=doc["_primary_term"], refresh=store.refresh)
        except ConflictError:
            return conflict()
        return fields

    return apply


def _transition(store: Host, p: Pattern) -> Answerer:
    field, version = str(p.field), store.version_field
    sources = set(p.sources or p.next)

    def change(src: dict[str, Any], params: Params) -> dict[str, Any] | None:
        if src.get(version, 0) >= params.version or src.get(field) not in sources:
            return None
        return {field: params.state, version: params.version}

    apply = _conditional(store, p, [field, version], change, lambda: False)

    async def transition(params: Params) -> bool:
        return bool(await apply(params, params.key))

    return optimistic(transition)


def _decrement(store: Host, p: Pattern) -> Answerer:
    field = str(p.field)

    def change(src: dict[str, Any], params: Params) -> dict[str, Any] | None:
        left = src[field] - params.targets[0][1]
        return None if left < p.floor else {field: left}

    apply = _conditional(store, p, [field], change, lambda: False)

    async def decrement(params: Params) -> bool:
        (key, _), = params.targets
        return bool(await apply(params, key))

    return optimistic(decrement)


def _increment(store: Host, p: Pattern) -> Answerer:
    field = str(p.field)

    def lost() -> Any:
        raise Conflict(f"{p.name}: another write changed the instance between the read and the update (409)")

    apply = _conditional(store, p, [field], lambda src, params: {field: src[field] + params.amount}, lost)

    async def increment(params: Params) -> Any:
        fields = await apply(params, params.key)
        return None if fields is None else fields[field]

    return optimistic(increment)
