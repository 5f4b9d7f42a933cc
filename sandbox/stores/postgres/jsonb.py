"""The JSONB design's store (`postgres:jsonb`): an aggregate is one (key, doc) row, so a write is one INSERT,
a batch one COPY (atomic by itself: no transaction), a read one row; patterns as in the normalized design,
over the document's expressions (jsonb_mapping.JsonbDesign)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.config import Endpoint
from sandbox.stores.contract import Answerer, Kept, Params, Record
from sandbox.stores.postgres.jsonb_mapping import JsonbDesign, iso
from sandbox.stores.postgres.model_store import PostgresModelBase
from sandbox.stores.postgres.naming import literal
from sandbox.stores.postgres.patterns import possible_key
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Entity, Model, Pattern


def _plain(value: Any) -> Any:
    """json.dumps' fallback: a decimal as its exact text, a time as ISO text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not kept in a document: {value!r}")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _decimal(scale: int) -> Callable[[str | None], Decimal | None]:
    quantum = Decimal(1).scaleb(-scale)
    return lambda text: None if text is None else Decimal(text).quantize(quantum)


def _decoders(e: Entity) -> list[tuple[str, Callable[[Any], Any]]]:
    """(field, text -> value) for the fields a document keeps as text: decimals and times."""
    out: list[tuple[str, Callable[[Any], Any]]] = []
    for f in e.stored_fields:
        if f.type.kind == "decimal":
            out.append((f.name, _decimal(f.type.scale)))
        elif f.type.kind == "timestamp":
            out.append((f.name, _time))
    return out


class Codec:
    """Instances of one entity to and from documents."""

    def __init__(self, model: Model, e: Entity):
        self.key = e.key
        self.fields = tuple(f.name for f in e.stored_fields if f.name != e.key)
        self.decode_fields = _decoders(e)
        self.kids = []
        for c in e.children:
            child = model.entity(c.entity)
            parent = child.parent_key.name if child.parent_key else ""
            self.kids.append((c.name, parent, tuple(f.name for f in child.stored_fields if f.name != parent),
                              _decoders(child)))

    def doc(self, inst: Instance, **override: Any) -> str:
        d = {f: inst[f] for f in self.fields}
        for coll, _, fields, _ in self.kids:
            d[coll] = [{f: c[f] for f in fields} for c in inst[coll]]
        d.update(override)
        return json.dumps(d, default=_plain, separators=(",", ":"))

    def record(self, key: str, doc: str) -> Record:
        d = json.loads(doc)
        out: Record = {self.key: key, **d}
        for f, decode in self.decode_fields:
            out[f] = decode(out[f])
        for coll, parent, _, decoders in self.kids:
            if coll not in d:
                continue
            for child in d[coll]:
                child[parent] = key
                for f, decode in decoders:
                    child[f] = decode(child[f])
        return out


class JsonbStore(PostgresModelBase):
    design = "jsonb"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.docs = JsonbDesign(model, namespace, options.get("toast_compression"))
        self.layout = self.docs
        super().__init__(endpoint, namespace, model, options)
        self.codecs = {name: Codec(model, model.entity(name)) for name in self.docs.tables}
        self._root = self.docs.tables[model.root]
        self._insert = f"INSERT INTO {self._root.name} ({self._root.key.q}, doc) VALUES ($1, $2::jsonb)"

    def ddl(self) -> list[str]:
        return self.docs.ddl()

    def compressible(self) -> list[tuple[str, str, str]]:
        """Each document column (its TOAST compression is the design's: jsonb_lz4)."""
        return [(t.name, t.plain, "doc") for t in self.docs.tables.values()]

    def describe(self) -> str:
        return self.docs.describe()

    def kept(self, entity: str) -> Kept:
        e = self.model.entity(entity)
        return Kept(tuple(f.name for f in e.stored_fields),
                    {c.name: tuple(f.name for f in self.model.entity(c.entity).stored_fields) for c in e.children})

    def _select(self, entity: str, drop: Sequence[str] = ()) -> str:
        t = self.docs.tables[entity]
        doc = f"doc - ARRAY[{', '.join(literal(c) for c in drop)}]::text[]" if drop else "doc"
        return f"SELECT {t.key.out()}, {doc} FROM {t.name}"

    def copies(self, data: Dataset) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
        out: list[tuple[str, tuple[str, ...], list[tuple]]] = []
        for name, t in self.docs.tables.items():
            if name != self.model.root:
                codec = self.codecs[name]
                rows = [(i[t.key.name], codec.doc(i)) for i in data.reference[name]]
                out.append((t.plain, (t.key.name, "doc"), rows))
        return out

    async def write(self, instance: Instance) -> None:
        await self.write_in(self.pool, instance)

    async def write_in(self, tx: Any, instance: Instance, version: int | None = None) -> bool:
        if version is not None:
            raise self._no_version()
        await tx.execute(self._insert, instance[self._root.key.name], self.codecs[self.model.root].doc(instance))
        return True

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        codec, key = self.codecs[self.model.root], self._root.key.name
        await self.pool.copy_records_to_table(self._root.plain, schema_name=self.namespace, columns=(key, "doc"),
                                              records=[(i[key], codec.doc(i)) for i in instances])

    async def read(self, entity: str, key: Any) -> Record | None:
        if not possible_key(self.docs.key_of(entity), key):
            return None
        row = await self.pool.fetchrow(self._select(entity) + f" WHERE {self.docs.key_of(entity).q} = $1", key)
        return None if row is None else self.codecs[entity].record(row[0], row[1])

    def scan(self, entity: str) -> AsyncIterator[Record]:
        codec = self.codecs[entity]
        return self._scan(self._select(entity), lambda row: codec.record(row[0], row[1]))

    def getter(self, p: Pattern) -> Answerer:
        e = self.model.entity(p.entity)
        drop = [c.name for c in e.children if c.name not in p.include]
        sql = self._select(p.entity, drop) + f" WHERE {self.docs.key_of(p.entity).q} = $1"
        codec, key = self.codecs[p.entity], self.docs.key_of(p.entity)

        async def get(params: Params) -> Record | None:
            if not possible_key(key, params.key):
                return None
            row = await self.pool.fetchrow(sql, params.key)
            return None if row is None else codec.record(row[0], row[1])

        return get


class JsonbUpsertStore(JsonbStore):
    """A newer version replaces the document but keeps its children (written once, with the first version)."""

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        super().__init__(endpoint, namespace, model, options)
        version = model.root_entity.version_field
        assert version is not None
        self._version = version.name
        t = self._root
        kept = ", ".join(f"{literal(c)}, cur.doc->{literal(c)}" for c, _ in t.collections)
        new = f"EXCLUDED.doc || jsonb_build_object({kept})" if kept else "EXCLUDED.doc"
        self._upsert = (f"INSERT INTO {t.name} AS cur ({t.key.q}, doc) VALUES ($1, $2::jsonb) ON CONFLICT "
                        f"({t.key.q}) DO UPDATE SET doc = {new} WHERE {self.docs.expr(model.root, version.name, 'cur')}"
                        f" < {self.docs.expr(model.root, version.name, 'EXCLUDED')} RETURNING 1")

    async def upsert(self, instance: Instance, version: int) -> bool:
        return await self.write_in(self.pool, instance, version)

    async def write_in(self, tx: Any, instance: Instance, version: int | None = None) -> bool:
        if version is None:
            return await super().write_in(tx, instance)
        doc = self.codecs[self.model.root].doc(instance, **{self._version: version})
        return await tx.fetchval(self._upsert, instance[self._root.key.name], doc) is not None
