"""PostgreSQL's normalized design of a domain model, derived without touching a server (docs/models.md).

A table per entity (its plural), the key as primary key; a child without a key of its own is keyed by
(owner key, position). References (and copies of another entity's key) are foreign keys, a child's link
to its owner one with ON DELETE CASCADE; checks and derived fields over the same row are CHECKs, unique
fields UNIQUE (a `distinct` collection field: unique within its owner), enums enum types, decimals
NUMERIC(p, scale), times TIMESTAMPTZ, text COLLATE "C" (byte order: ORDER BY agrees with every other
store's and the oracle's order), and an index per access pattern that needs one (naming.needs).
For orders this is today's hand-written schema (customers, addresses, categories, products, orders,
order_items), so the order-specific analytics and migrations carry over.

Hash partitioning (`postgres:partitioned`: design options `partition_by` = a root field, default the root's first
reference to reference data, customer_id for orders; `partitions` = N): the root table is `PARTITION BY HASH
(field)` with N partitions `FOR VALUES WITH (MODULUS N, REMAINDER i)`. A partitioned table's primary key and
unique constraints must contain the partition key, so they become (field, ...), and no foreign key can point at
it: the children's link to their owner is left out (and with it ON DELETE CASCADE); the rest is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.postgres.naming import (
    SqlType,
    checks,
    enum_types,
    ident,
    literal,
    needs,
    one_level,
    owner_of,
    refers_to,
    short,
    sql_type,
)
from sandbox.workload.schema import Entity, Field, Model


@dataclass(frozen=True)
class Column:
    name: str  # the field's (a child's position column has none of its own)
    type: SqlType
    field: str | None  # the model field it holds; None for a position
    nullable: bool = False
    default: str | None = None  # a constant generator's value (today's `version ... DEFAULT 1`)

    @property
    def q(self) -> str:
        return ident(self.name)

    def param(self, n: int) -> str:
        """$n as this column takes it: an enum travels as text (no client-side type lookup) and is cast."""
        return f"${n}::text::{self.type.enum}" if self.type.enum else f"${n}"

    def array(self, n: int) -> str:
        return f"${n}::{self.type.elem}[]"

    def of_text(self, expr: str) -> str:
        return f"{expr}::{self.type.enum}" if self.type.enum else expr

    def out(self, alias: str = "") -> str:
        """The column selected so the client gets the contract's value (uuids and enums as str)."""
        col = f"{alias}.{self.q}" if alias else self.q
        return f"{col}::text" if self.type.uuid or self.type.enum else col


@dataclass(frozen=True)
class Table:
    entity: str
    plain: str  # unqualified (COPY names schema and table apart)
    name: str  # qualified
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    constraints: tuple[str, ...] = ()
    owner: str | None = None  # a child table: the owning entity,
    collection: str | None = None  # the collection's name in it,
    parent: str | None = None  # the column holding the owner's key
    position: str | None = None  # and the one holding the child's place in the collection
    partition_by: str | None = None  # hash-partitioned by this column (the root only)
    partitions: int = 0

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)

    @property
    def data(self) -> tuple[Column, ...]:
        """The columns a child's own values fill (not its owner's key, not its position)."""
        return tuple(c for c in self.columns if c.name not in (self.parent, self.position))

    def ddl(self) -> str:
        lines = [f"{c.q} {c.type.sql}{'' if c.nullable else ' NOT NULL'}"
                 f"{f' DEFAULT {c.default}' if c.default is not None else ''}" for c in self.columns]
        key = self.key if self.partition_by is None or self.partition_by in self.key else (self.partition_by, *self.key)
        lines += [f"PRIMARY KEY ({', '.join(ident(k) for k in key)})", *self.constraints]
        tail = f" PARTITION BY HASH ({ident(self.partition_by)})" if self.partition_by is not None else ""
        return f"CREATE TABLE {self.name} (\n    " + ",\n    ".join(lines) + "\n)" + tail

    def partition_ddl(self) -> list[str]:
        schema = self.name.rpartition(".")[0]
        return [f"CREATE TABLE {schema}.{ident(f'{self.plain}_p{i}')} PARTITION OF {self.name} "
                f"FOR VALUES WITH (MODULUS {self.partitions}, REMAINDER {i})" for i in range(self.partitions)]


@dataclass(frozen=True)
class Index:
    name: str
    table: str  # qualified
    exprs: tuple[str, ...]
    gin: bool
    patterns: tuple[str, ...]  # the access patterns it serves
    unique: bool = False

    def ddl(self) -> str:
        using = " USING gin" if self.gin else ""
        return (f"CREATE {'UNIQUE ' if self.unique else ''}INDEX {self.name} ON {self.table}{using} "
                f"({', '.join(self.exprs)})")


@dataclass(frozen=True)
class Design:
    root: str  # the root entity
    schema: str  # quoted
    enums: tuple[tuple[str, tuple[str, ...]], ...]
    tables: Mapping[str, Table]  # by entity, in creation (and load) order: referenced tables first
    deferred: tuple[str, ...]  # foreign keys to a table created later (a cycle): added after, checked at commit
    indexes: tuple[Index, ...]

    def table(self, entity: str) -> Table:
        return self.tables[entity]

    def children(self, entity: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables.values() if t.owner == entity)

    # The patterns' view of the design (patterns.Layout): columns are the fields themselves.
    def table_name(self, entity: str) -> str:
        return self.tables[entity].name

    def key_of(self, entity: str) -> Column:
        t = self.tables[entity]
        return t.column(t.key[0])

    def expr(self, entity: str, field: str, alias: str = "") -> str:
        q = self.tables[entity].column(field).q
        return f"{alias}.{q}" if alias else q

    def typed(self, entity: str, field: str, alias: str = "") -> str:
        return self.expr(entity, field, alias)

    def out(self, entity: str, field: str) -> str:
        return self.tables[entity].column(field).out()

    def param(self, entity: str, field: str, n: int) -> str:
        return self.tables[entity].column(field).param(n)

    def list_param(self, entity: str, field: str, n: int) -> str:
        t = self.tables[entity].column(field).type
        return f"${n}::text[]::{t.enum}[]" if t.enum else f"${n}::{t.elem}[]"

    def encode(self, entity: str, field: str, value: Any) -> Any:
        return value

    def assign(self, entity: str, changes: Mapping[str, str], alias: str = "") -> str:
        return ", ".join(f"{self.tables[entity].column(f).q} = {sql}" for f, sql in changes.items())

    def ddl(self) -> list[str]:
        out = [f"CREATE TYPE {name} AS ENUM ({', '.join(literal(v) for v in values)})" for name, values in self.enums]
        tables = [d for t in self.tables.values() for d in (t.ddl(), *t.partition_ddl())]
        return out + tables + list(self.deferred) + [i.ddl() for i in self.indexes]

    def describe(self) -> str:
        root = next(t for t in self.tables.values() if t.entity == self.root)
        kids = self.children(root.entity)
        batch = ", ".join(t.plain for t in (root, *kids))
        lines = [f"PostgreSQL, normalized: a table per entity in schema {self.schema}" + (
            f"; {root.plain} hash-partitioned by {root.partition_by} into {root.partitions} partitions (primary key "
            f"and unique constraints with {root.partition_by} first; no foreign key can point at it)"
            if root.partition_by else ""), ""]
        for stmt in self.ddl():
            served = next((i.patterns for i in self.indexes if i.ddl() == stmt), ())
            lines.append(stmt + ";" + (f"  -- {', '.join(served)}" if served else ""))
        lines += ["", f"write: one INSERT into {root.plain}" + (
            f" with a data-modifying CTE per collection ({', '.join(f'{k.collection} -> {k.plain}' for k in kids)})"
            if kids else "") + ", prepared; batch: one INSERT ... SELECT FROM unnest() of column arrays into " + batch
                  + (" (children in data-modifying CTEs)" if kids else ""),
                  "reference data: COPY " + ", ".join(t.plain for t in self.tables.values()
                                                     if t.entity != root.entity and t.owner != root.entity)]
        return "\n".join(lines)


def partition_field(model: Model, options: Mapping[str, Any]) -> tuple[str, int] | None:
    """The hash partitioning a design's options ask for: (root field, partitions), or None."""
    partitions = int(options.get("partitions", 0) or 0)
    if not partitions:
        return None
    root = model.root_entity
    field = str(options.get("partition_by") or "")
    if not field:  # the root's first reference to reference data (orders: customer_id), else its key
        field = next((f.name for f in root.stored_fields if f.ref is not None and not f.parent_key
                      and model.entity(f.ref).role == "reference"), root.key)
    if root.field(field) is None:
        raise UsageError(f"postgres: partition_by {field!r} is not a field of {root.name}")
    if not 1 <= partitions <= 1024:
        raise UsageError(f"postgres: partitions must be from 1 to 1024, got {partitions}")
    return field, partitions


def derive(model: Model, namespace: str, options: Mapping[str, Any] | None = None) -> Design:
    schema = ident(namespace)
    partition = partition_field(model, options or {})
    enums = enum_types(model, schema)
    tables: dict[str, Table] = {}
    deferred: list[str] = []
    placing: list[str] = []

    def place(e: Entity) -> None:
        if e.name in tables or e.name in placing:
            return
        placing.append(e.name)
        for target in _targets(model, e):
            place(target)
        placing.pop()
        tables[e.name] = _table(model, e, schema, enums, tables, placing, deferred,
                                partition if e.role == "root" else None)

    one_level(model)
    for e in model.entities.values():
        place(e)
    values = {name: model.entity(e).field(f).type.values for (e, f), name in enums.items()}  # type: ignore[union-attr]
    indexes = []
    for n in needs(model):
        t = tables[n.entity]
        cols = [t.column(f).q for f in n.fields]
        exprs = (f"to_tsvector('simple', {cols[0]})",) if n.gin else tuple(cols)
        name = short(f"{t.plain}_{'_'.join(n.fields)}_{'fts' if n.gin else 'idx'}")
        indexes.append(Index(ident(name), t.name, exprs, n.gin, n.patterns))
    return Design(model.root, schema, tuple(values.items()), tables, tuple(deferred), tuple(indexes))


def _targets(model: Model, e: Entity) -> list[Entity]:
    """The entities e's table needs to exist first: its owner, and what its foreign keys point at."""
    out = [owner_of(model, e)[0]] if e.role == "child" else []
    for f in e.stored_fields:
        target = refers_to(model, e, f)
        if target is not None and target.name != e.name and _keeps_fk(e, target):
            out.append(target)
    return out


def _default(f: Field) -> str | None:
    """A constant's value as the column's DEFAULT (SQL written by hand, e.g. a migration's fill, can leave it)."""
    if f.gen is None or f.gen.name != "constant" or f.type.kind == "timestamp":
        return None
    value = f.gen.params.get("value")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value) if isinstance(value, int | float) else literal(str(value))


def _keeps_fk(e: Entity, target: Entity) -> bool:
    # A root referencing roots (an earlier post) gets none: concurrent writers do not write in index order.
    return not (e.role == "root" and target.role == "root")


def _table(model: Model, e: Entity, schema: str, enums: dict[tuple[str, str], str], made: Mapping[str, Table],
           placing: list[str], deferred: list[str], partition: tuple[str, int] | None = None) -> Table:
    plain = e.plural
    name = f"{schema}.{ident(plain)}"
    fields = sorted(e.stored_fields, key=lambda f: f.name != e.key)  # the key first, then the file's order
    columns = [Column(f.name, sql_type(model, e, f, enums), f.name, f.nullable, _default(f)) for f in fields]
    constraints: list[str] = []
    owner = collection = parent = position = None
    key: tuple[str, ...] = (e.key,)
    if e.role == "child":
        owner_e, coll = owner_of(model, e)
        owner, collection = owner_e.name, coll.name
        pk = e.parent_key
        assert pk is not None
        parent = pk.name
        position = "position" if e.field("position") is None else "position_"
        at = next(i for i, c in enumerate(columns) if c.name == parent) + 1
        columns.insert(at, Column(position, SqlType("integer", "integer"), None))
        key = (e.key,) if e.key else (parent, position)
        if e.key:
            constraints.append(f"UNIQUE ({ident(parent)}, {ident(position)})")
        if coll.distinct:
            constraints.append(f"UNIQUE ({ident(parent)}, {ident(coll.distinct)})")
        owner_table = made[owner_e.name]
        if owner_table.partition_by is None:  # no foreign key can point at a partitioned table's key alone
            constraints.append(f"FOREIGN KEY ({ident(parent)}) REFERENCES {owner_table.name} "
                               f"({ident(owner_e.key)}) ON DELETE CASCADE")
    within = f"{ident(partition[0])}, " if partition is not None else ""  # a partitioned table's unique keys
    for f in fields:
        if f.unique and f.name != e.key:
            constraints.append(f"UNIQUE ({within if f.name != (partition or ('',))[0] else ''}{ident(f.name)})")
    for f in fields:
        target = refers_to(model, e, f)
        if target is None or not _keeps_fk(e, target):
            continue
        fk = f"FOREIGN KEY ({ident(f.name)}) REFERENCES {schema}.{ident(target.plural)} ({ident(target.key)})"
        if target.name in placing and target.name != e.name:  # a cycle: the target is not there yet
            deferred.append(f"ALTER TABLE {name} ADD {fk} DEFERRABLE INITIALLY DEFERRED")
        else:
            constraints.append(fk)
    for check, sql in checks(e, lambda f: ident(f)):
        constraints.append(f"CONSTRAINT {ident(short(check))} CHECK ({sql})")
    return Table(e.name, plain, name, tuple(columns), key, tuple(constraints), owner, collection, parent, position,
                 *(partition or (None, 0)))
