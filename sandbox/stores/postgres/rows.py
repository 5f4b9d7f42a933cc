"""The normalized design's statements for whole aggregates: the one-statement insert and upsert of a root with
its children (data-modifying CTEs over unnest()ed arrays, as the hand-written adapter's INSERT_ORDER), the
COPY rows of a batch or of reference data, and the select that reads an instance back with its children."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sandbox.stores.contract import Record
from sandbox.stores.postgres.mapping import Column, Design, Table
from sandbox.stores.postgres.naming import ident
from sandbox.workload.dataset import Instance


class Rows:
    """Statements and parameters of one design's root (and, for reads and COPY, of any entity)."""

    def __init__(self, design: Design):
        self.design = design
        self.root = design.table(design.root)
        self.kids = design.children(design.root)
        self._root_values = _getter(tuple(c.name for c in self.root.columns))
        self._kid_values = tuple((k.collection or "", _getter(tuple(c.name for c in k.data)), len(k.data))
                                 for k in self.kids)

    def insert_sql(self, upsert: str | None = None) -> str:
        """One statement, so one round trip and one implicit transaction for the root and its children.
        upsert = the version column: a newer version updates the root's fields, an older or equal one
        changes nothing, and children go in only with a new root row (they are written once)."""
        t = self.root
        cols = ", ".join(c.q for c in t.columns)
        vals = ", ".join(c.param(i + 1) for i, c in enumerate(t.columns))
        key = ident(t.key[0])
        insert = f"INSERT INTO {t.name} AS cur ({cols}) VALUES ({vals})"
        if upsert is not None:
            ver = ident(upsert)
            fixed = (t.key[0], t.partition_by)  # the key, and the partition key: an instance keeps both
            changed = ", ".join(f"{c.q} = EXCLUDED.{c.q}" for c in t.columns if c.name not in fixed)
            # A partitioned table's primary key is (partition key, key): the conflict target names both.
            target = key if t.partition_by is None else f"{ident(t.partition_by)}, {key}"
            # xmax tells an insert from an update; a partitioned table has no system columns to return, so
            # there every applied row counts and the children skip the rows they already have.
            inserted = "(cur.xmax = 0)" if t.partition_by is None else "TRUE"
            insert += (f" ON CONFLICT ({target}) DO UPDATE SET {changed} WHERE cur.{ver} < EXCLUDED.{ver}"
                       f" RETURNING cur.{key}, {inserted} AS inserted")
        elif not self.kids:
            return insert
        else:
            insert += f" RETURNING cur.{key}"
        n = len(t.columns)
        parts = [f"r AS ({insert})"]
        for j, k in enumerate(self.kids):
            data = k.data
            arrays, names, picked = _unnested(data, n + 1)
            cols = ", ".join(c.q for c in data)
            once = " ON CONFLICT DO NOTHING" if upsert is not None and t.partition_by is not None else ""
            parts.append(f"k{j} AS (INSERT INTO {k.name} ({ident(k.parent or '')}, {ident(k.position or '')}, {cols}) "
                         f"SELECT r.{key}, u.ord - 1, {picked} FROM r, unnest({arrays}) WITH ORDINALITY AS "
                         f"u({names}, ord){' WHERE r.inserted' if upsert is not None else ''}{once})")
            n += len(data)
        return "WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM r"

    def insert_args(self, inst: Instance) -> list[Any]:
        """The root's values, then per collection one array per child column (transposed rows)."""
        args = list(self._root_values(inst))
        for coll, values, width in self._kid_values:
            children = inst[coll]
            args += map(list, zip(*map(values, children), strict=True)) if children else [[]] * width
        return args

    def batch_sql(self) -> str:
        """A batch in one statement: per table one INSERT ... SELECT FROM unnest() of its column arrays, the
        children's in data-modifying CTEs beside the root's. One round trip and one implicit transaction for the
        whole batch (BEGIN, a COPY per table and COMMIT were 2 + tables); the foreign keys are checked at the
        statement's end, when every table has its rows."""
        parts, n = [], 0
        for t in (self.root, *self.kids):
            arrays, names, picked = _unnested(t.columns, n + 1)
            cols = ", ".join(c.q for c in t.columns)
            parts.append(f"INSERT INTO {t.name} ({cols}) SELECT {picked} FROM unnest({arrays}) AS u({names})")
            n += len(t.columns)
        if len(parts) == 1:
            return parts[0]
        return "WITH " + ",\n".join(f"k{j} AS ({p})" for j, p in enumerate(parts[1:])) + "\n" + parts[0]

    def batch_args(self, instances: Sequence[Instance]) -> list[Any]:
        """batch_sql's parameters: one array per column, the root's table first, then each child table's."""
        args: list[Any] = []
        for t in (self.root, *self.kids):
            rows = self.copy_rows(instances, t)
            args += map(list, zip(*rows, strict=True)) if rows else [[] for _ in t.columns]
        return args

    def copy_rows(self, instances: Iterable[Instance], table: Table) -> list[tuple]:
        """COPY records of `table` from the instances of its entity (a child table: of its owner)."""
        if table.owner is None:
            row = _getter(tuple(c.name for c in table.columns))
            return [row(inst) for inst in instances]
        owner_key = self.design.table(table.owner).key[0]
        names = [c.name for c in table.columns]
        at = names.index(table.parent or "")  # the owner's key and the position go in there
        head, tail = _getter(tuple(names[:at])), _getter(tuple(names[at + 2:]))
        coll = table.collection or ""
        return [(*head(child), inst[owner_key], pos, *tail(child))
                for inst in instances for pos, child in enumerate(inst[coll])]

    def select_sql(self, entity: str, collections: Sequence[str] | None = None) -> str:
        """Instances of an entity with their collections (all, or those named) as arrays of rows in position
        order: one query, decoded by `record`. Append a WHERE on r."""
        t = self.design.table(entity)
        cols = [c.out("r") for c in t.columns if c.field is not None]
        for k in self.design.children(entity):
            if collections is not None and k.collection not in collections:
                continue
            row = ", ".join(c.out("k") for c in k.columns if c.field is not None)
            cols.append(f"(SELECT array_agg(ROW({row}) ORDER BY k.{ident(k.position or '')}) FROM {k.name} k "
                        f"WHERE k.{ident(k.parent or '')} = r.{ident(t.key[0])})")
        return f"SELECT {', '.join(cols)} FROM {t.name} r"

    def reader(self, entity: str, collections: Sequence[str] | None = None) -> Any:
        """row -> Record for select_sql's rows (uuids, enums already text; numerics at their scale)."""
        t = self.design.table(entity)
        fields = tuple(c.name for c in t.columns if c.field is not None)
        kids = [(k.collection or "", tuple(c.name for c in k.columns if c.field is not None))
                for k in self.design.children(entity) if collections is None or k.collection in collections]
        n = len(fields)

        def record(row: Any) -> Record:
            out = dict(zip(fields, row[:n], strict=True))
            for j, (coll, names) in enumerate(kids):
                out[coll] = [dict(zip(names, child, strict=True)) for child in row[n + j] or ()]
            return out

        return record


def _unnested(columns: Sequence[Column], first: int) -> tuple[str, str, str]:
    """For `unnest(arrays) AS u(names)` of `columns`, parameters from $first on: the typed array parameters,
    the element names, and the elements as the columns take them (enums cast from text)."""
    arrays = ", ".join(c.array(first + i) for i, c in enumerate(columns))
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    picked = ", ".join(c.of_text(f"u.c{i}") for i, c in enumerate(columns))
    return arrays, names, picked


def _getter(fields: tuple[str, ...]) -> Callable[[Instance], tuple]:
    """instance -> the tuple of its values of `fields` (itemgetter, which gives a bare value for one field)."""
    if len(fields) > 1:
        return itemgetter(*fields)
    if fields:
        return lambda inst: (inst[fields[0]],)
    return lambda inst: ()
