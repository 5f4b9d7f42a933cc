"""PostgreSQL's JSONB design of a domain model (the variant `postgres:jsonb`), derived without a server.

Each aggregate (the root, and each reference entity) is a table of (key, doc jsonb): the instance's other
fields and its owned collections inside the document (a child without its owner's key, which is the row's).
Money stays exact: a decimal is kept as its text ("94.40") and cast back to numeric wherever it is compared
or summed; times as ISO text in UTC with milliseconds, which sorts as the times do (compared COLLATE "C").
Indexes are expression indexes on exactly the expressions the patterns' statements use; checks and derived
fields over the document's own fields are CHECKs on those expressions. What the design does not enforce
(foreign keys, checks on the children inside a document) describe() says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.postgres.mapping import Column, Index
from sandbox.stores.postgres.naming import checks, enum_types, ident, literal, needs, one_level, short, sql_type
from sandbox.workload.schema import Entity, Field, Model

CASTS = {"decimal": "numeric", "float": "float8", "bool": "boolean"}


@dataclass(frozen=True)
class DocTable:
    entity: str
    plain: str
    name: str  # qualified
    key: Column
    fields: tuple[Field, ...]  # in the document: every stored field but the key
    collections: tuple[tuple[str, Entity], ...]  # owned collections in the document, with their entity
    constraints: tuple[str, ...]
    ints: Mapping[str, str]  # int field -> integer | bigint
    compression: str | None = None  # the doc column's TOAST compression (None: the server's default, pglz)

    def ddl(self) -> str:
        doc = f"doc jsonb COMPRESSION {self.compression} NOT NULL" if self.compression else "doc jsonb NOT NULL"
        lines = [f"{self.key.q} {self.key.type.sql} NOT NULL", doc, f"PRIMARY KEY ({self.key.q})", *self.constraints]
        return f"CREATE TABLE {self.name} (\n    " + ",\n    ".join(lines) + "\n)"


COMPRESSIONS = ("pglz", "lz4")  # PostgreSQL 14+'s TOAST methods (lz4 when the server was built with it)


class JsonbDesign:
    def __init__(self, model: Model, namespace: str, compression: str | None = None):
        if compression is not None and compression not in COMPRESSIONS:
            raise UsageError(f"postgres: toast_compression {compression!r}: choose {' or '.join(COMPRESSIONS)}")
        self.compression = compression
        one_level(model)
        self.root = model.root
        self.schema = ident(namespace)
        self.tables: dict[str, DocTable] = {}
        self.not_enforced: list[str] = []
        for e in model.entities.values():
            if e.role != "child":
                self.tables[e.name] = self._table(model, e)
        self.indexes: list[Index] = []
        for t in self.tables.values():
            for f in t.fields:
                if f.unique:
                    name = ident(short(f"{t.plain}_{f.name}_key"))
                    self.indexes.append(Index(name, t.name, (self.expr(t.entity, f.name),), False, (), True))
        for n in needs(model):
            t = self.tables[n.entity]
            exprs = tuple(self.expr(n.entity, f) for f in n.fields)
            exprs = (f"to_tsvector('simple', {exprs[0]})",) if n.gin else exprs
            name = ident(short(f"{t.plain}_{'_'.join(n.fields)}_{'fts' if n.gin else 'idx'}"))
            self.indexes.append(Index(name, t.name, exprs, n.gin, n.patterns))

    def _table(self, model: Model, e: Entity) -> DocTable:
        enums = enum_types(model, self.schema)
        key_field = e.field(e.key)
        assert key_field is not None
        key = Column(e.key, sql_type(model, e, key_field, enums), e.key)
        fields = tuple(f for f in e.stored_fields if f.name != e.key)
        ints = {f.name: sql_type(model, e, f, enums).sql for f in fields if f.type.kind == "int"}
        table = DocTable(e.name, e.plural, f"{self.schema}.{ident(e.plural)}", key, fields,
                         tuple((c.name, model.entity(c.entity)) for c in e.children), (), ints)
        self.tables[e.name] = table  # expr() below reads it
        required = [f.name for f in fields if not f.nullable] + [c.name for c in e.children]
        constraints = [f"CONSTRAINT {ident(short(e.plural + '_shape'))} CHECK (doc ?& ARRAY[" +
                       ", ".join(literal(f) for f in required) + "])"] if required else []
        for f in fields:
            if f.type.kind == "enum":
                constraints.append(f"CONSTRAINT {ident(short(f'{e.plural}_{f.name}_values'))} CHECK "
                                   f"({self.expr(e.name, f.name)} IN ({', '.join(literal(v) for v in f.type.values)}))")
        for name, sql in checks(e, lambda f: self.typed(e.name, f)):
            constraints.append(f"CONSTRAINT {ident(short(name))} CHECK ({sql})")
        for coll, child in table.collections:
            self.not_enforced += [f"{e.name}.{coll}: {c.name}" for c in child.checks]
            self.not_enforced += [f"{e.name}.{coll}: {f.name} derived" for f in child.stored_fields if f.derive]
        return replace(table, constraints=tuple(constraints), compression=self.compression)

    # The patterns' view of the design (patterns.Layout).
    def table_name(self, entity: str) -> str:
        return self.tables[entity].name

    def key_of(self, entity: str) -> Column:
        return self.tables[entity].key

    def _kind(self, entity: str, field: str) -> str:
        f = next(f for f in self.tables[entity].fields if f.name == field)
        return f.type.kind

    def expr(self, entity: str, field: str, alias: str = "") -> str:
        """The expression a field is compared, ordered and indexed by."""
        t, a = self.tables[entity], f"{alias}." if alias else ""
        if field == t.key.name:
            return f"{a}{t.key.q}"
        kind, text = self._kind(entity, field), f"{a}doc->>{literal(field)}"
        if kind == "int":
            return f"(({text})::{t.ints[field]})"
        if kind in CASTS:
            return f"(({text})::{CASTS[kind]})"
        return f'(({text}) COLLATE "C")'  # text, keywords, ids, enums and ISO times: byte order

    def typed(self, entity: str, field: str, alias: str = "") -> str:
        if field != self.tables[entity].key.name and self._kind(entity, field) == "timestamp":
            return f"(({alias + '.' if alias else ''}doc->>{literal(field)})::timestamptz)"
        return self.expr(entity, field, alias)

    def out(self, entity: str, field: str) -> str:
        t = self.tables[entity]
        return t.key.out() if field == t.key.name else self.typed(entity, field)

    def _cast(self, entity: str, field: str) -> str:
        t = self.tables[entity]
        if field == t.key.name:
            return t.key.type.elem
        kind = self._kind(entity, field)
        return t.ints[field] if kind == "int" else CASTS.get(kind, "text")

    def param(self, entity: str, field: str, n: int) -> str:
        return f"${n}::{self._cast(entity, field)}"

    def list_param(self, entity: str, field: str, n: int) -> str:
        return f"${n}::{self._cast(entity, field)}[]"

    def encode(self, entity: str, field: str, value: Any) -> Any:
        if field != self.tables[entity].key.name and self._kind(entity, field) == "timestamp":
            return iso(value)
        return value

    def assign(self, entity: str, changes: Mapping[str, str], alias: str = "") -> str:
        a = f"{alias}." if alias else ""
        pairs = ", ".join(f"{literal(f)}, ({sql})::text" if self._kind(entity, f) == "decimal"
                          else f"{literal(f)}, {sql}" for f, sql in changes.items())
        return f"doc = {a}doc || jsonb_build_object({pairs})"

    def ddl(self) -> list[str]:
        out = [t.ddl() for t in self.tables.values()]
        return out + [i.ddl() for i in self.indexes]

    def describe(self) -> str:
        root = self.tables[self.root]
        lines = [f"PostgreSQL, jsonb: a (key, doc jsonb) table per aggregate in schema {self.schema}; children "
                 "inside their owner's document, decimals as exact text, times as ISO text (UTC, ms)", ""]
        for stmt in [t.ddl() for t in self.tables.values()]:
            lines.append(stmt + ";")
        for i in self.indexes:
            lines.append(i.ddl() + ";" + (f"  -- {', '.join(i.patterns)}" if i.patterns else ""))
        lines += ["", f"write: one INSERT of ({root.key.name}, doc) into {root.plain}, prepared; batch: one COPY",
                  "reference data: COPY " + ", ".join(t.plain for t in self.tables.values() if t.entity != self.root),
                  "not enforced: foreign keys" + "".join(f"; {n}" for n in self.not_enforced)]
        return "\n".join(lines)


def iso(at: Any) -> str:
    """A time as the documents keep it: ISO 8601 in UTC with milliseconds, fixed width (sorts as time does)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    elif at.utcoffset():
        at = at.astimezone(UTC)
    return at.isoformat(timespec="milliseconds")
