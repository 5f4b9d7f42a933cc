"""What both PostgreSQL designs of a model share: identifiers, where a field's value comes from, its SQL type,
the constraints its checks and derived fields become, and the indexes its access patterns need (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from hashlib import sha1

from sandbox.errors import UsageError
from sandbox.workload.expr import to_sql
from sandbox.workload.schema import Children, Entity, Field, Model, Pattern

# PostgreSQL 15's reserved words and the ones that cannot name a column (Appendix C): quoted where used.
_RESERVED = """
all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation
column concurrently constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze
from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit
localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references
returning right select session_user similar some symmetric table tablesample then to trailing true union unique user
using variadic verbose when where window with"""
RESERVED = frozenset(_RESERVED.split())
INT4 = 2 ** 31
DECIMAL_DIGITS = 8  # digits before the point of a NUMERIC: today's DECIMAL(10,2) money at scale 2


def ident(name: str) -> str:
    """An identifier as SQL: bare when it can be, quoted otherwise."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def short(name: str) -> str:
    """A constraint or index name within PostgreSQL's 63 bytes (it would cut longer ones silently)."""
    return name if len(name) <= 63 else f"{name[:54]}_{sha1(name.encode()).hexdigest()[:8]}"


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def one_level(model: Model) -> None:
    """Both designs keep children one level deep (a table keyed by owner and position, or an array in the
    owner's document); a model whose children own collections is refused in one line."""
    for e in model.entities.values():
        for c in e.children:
            if model.entity(c.entity).children:
                raise UsageError(f"postgres: {c.entity} (owned by {e.name}) owns a collection itself; the design "
                                 "keeps one level of children")


def owner_of(model: Model, e: Entity) -> tuple[Entity, Children]:
    found = model.owner_of(e.name)
    assert found is not None, e.name  # model_checks: every child has an owner
    return found


def source(model: Model, e: Entity, f: Field) -> tuple[Entity, Field] | None:
    """One step back along where a value comes from: a reference's target key, a parent key's owner key, a
    copy's source field; None for a field that makes its own value."""
    if f.parent_key:
        owner = owner_of(model, e)[0]
        return owner, owner.field(owner.key)  # type: ignore[return-value]
    if f.ref is not None:
        target = model.entity(f.ref)
        return target, target.field(target.key)  # type: ignore[return-value]
    if not f.copy:
        return None
    parts, at, i = f.copy, e, 0
    if parts[0] == "parent":
        at, i = owner_of(model, e)[0], 1
    while True:
        member = at.member(parts[i])
        if isinstance(member, Children):  # collection[position].field
            at, i = model.entity(member.entity), i + 2
            continue
        assert member is not None
        if i == len(parts) - 1:
            return at, member
        at, i = model.entity(member.ref or ""), i + 1


def origin(model: Model, e: Entity, f: Field) -> tuple[Entity, Field]:
    """The field that makes the value this one holds (a copy of a copy of a key: the key)."""
    for _ in range(32):
        step = source(model, e, f)
        if step is None:
            break
        e, f = step
    return e, f


def refers_to(model: Model, e: Entity, f: Field) -> Entity | None:
    """The entity whose key this field holds (a reference, or a copy of a key), for a foreign key."""
    if f.parent_key:
        return None  # the owner link: its own foreign key, with ON DELETE CASCADE
    step = source(model, e, f) if (f.ref is not None or f.copy) else None
    if step is None or not step[0].key or step[1].name != step[0].key:
        return None
    return step[0]


@dataclass(frozen=True)
class SqlType:
    sql: str  # as the DDL declares it
    elem: str  # a parameter array's element type (enums travel as text)
    uuid: bool = False
    enum: str | None = None  # the enum type's qualified name


def sql_type(model: Model, e: Entity, f: Field, enums: dict[tuple[str, str], str]) -> SqlType:
    """The column type of a field; enums name the type of the field their values come from."""
    oe, of = origin(model, e, f)
    kind = f.type.kind
    if kind == "id":
        uuid = of.gen is not None and of.gen.name == "uuid"
        return SqlType("uuid", "uuid", uuid=True) if uuid else SqlType('text COLLATE "C"', "text")
    if kind == "int":
        wide = of.gen is not None and (of.gen.name == "sequence" or any(
            isinstance(v, int | float) and abs(v) >= INT4
            for value in of.gen.params.values() for v in (value if isinstance(value, list) else [value])))
        return SqlType("bigint", "bigint") if wide else SqlType("integer", "integer")
    if kind == "decimal":
        return SqlType(f"numeric({DECIMAL_DIGITS + f.type.scale}, {f.type.scale})", "numeric")
    if kind == "enum":
        name = enums[(oe.name, of.name)]
        return SqlType(name, "text", enum=name)
    return {"float": SqlType("double precision", "float8"), "timestamp": SqlType("timestamptz", "timestamptz"),
            "bool": SqlType("boolean", "boolean")}.get(kind, SqlType('text COLLATE "C"', "text"))


def enum_types(model: Model, schema: str) -> dict[tuple[str, str], str]:
    """(entity, field) -> qualified enum type, one per field that makes enum values (copies share it)."""
    tables = {e.plural for e in model.entities.values()}
    out: dict[tuple[str, str], str] = {}
    for e in model.entities.values():
        for f in e.stored_fields:
            if f.type.kind == "enum" and origin(model, e, f) == (e, f):
                name = f"{e.name}_{f.name}"
                out[(e.name, f.name)] = f"{schema}.{ident(name + '_enum' if name in tables else name)}"
    return out


def checks(e: Entity, column: Callable[[str], str]) -> list[tuple[str, str]]:
    """(name, condition) of the CHECKs an entity's rows must pass: its checks, and each derived field whose
    expression reads only the same row (a derived decimal is rounded half up to its scale, as PostgreSQL's
    round() does for the non-negative and the negative alike)."""
    stored = {f.name for f in e.stored_fields}
    out = []
    for c in e.checks:
        sql = to_sql(c.expr, column) if c.expr.names <= stored else None
        if sql is not None:
            out.append((c.name, sql))
    for f in e.stored_fields:
        if f.derive is None or not f.derive.names <= stored or f.type.kind == "float":
            continue  # floats: the server's arithmetic need not round as Python's does
        sql = to_sql(f.derive, column)
        if sql is None or (f.type.kind == "int" and "/" in f.derive.text):
            continue
        if f.type.kind == "decimal" and _may_pass_scale(f.derive.tree, f.type.scale):
            sql = f"round({sql}, {f.type.scale})"
        out.append((f"{f.name}_derived", f"{column(f.name)} = {sql}"))
    return out


def _may_pass_scale(t: tuple, scale: int) -> bool:
    """Whether an expression over values at `scale` can have more digits (so its CHECK rounds it as the
    generator does): a product or quotient can, a sum or a choice of exact values cannot."""
    kind = t[0]
    if kind == "round":
        return t[2] > scale
    if kind == "lit":
        return isinstance(t[1], Decimal) and -t[1].as_tuple().exponent > scale  # type: ignore[operator]
    if kind in ("name", "cmp", "bool", "not"):
        return False
    if kind in ("neg", "abs"):
        return _may_pass_scale(t[1], scale)
    if kind == "bin" and t[1] in "+-":
        return _may_pass_scale(t[2], scale) or _may_pass_scale(t[3], scale)
    if kind == "if":
        return _may_pass_scale(t[2], scale) or _may_pass_scale(t[3], scale)
    return True


@dataclass(frozen=True)
class Need:
    """An index an access pattern needs: fields in order (btree), or a text field searched by word (gin)."""

    entity: str
    fields: tuple[str, ...]
    gin: bool
    patterns: tuple[str, ...]


def needs(model: Model) -> list[Need]:
    """The indexes the model's patterns need, merged: one whose fields lead another's is served by that one.
    A range is ordered by its field and then the key (ties), so both go into its index."""
    wanted: list[Need] = []
    for p in model.patterns.values():
        need = _need(model, p)
        if need is not None:
            wanted.append(need)
    merged: list[Need] = []
    for n in sorted(wanted, key=lambda n: -len(n.fields)):
        same = next((m for m in merged if m.entity == n.entity and m.gin == n.gin
                     and m.fields[:len(n.fields)] == n.fields), None)
        if same is None:
            merged.append(n)
        else:
            merged[merged.index(same)] = Need(same.entity, same.fields, same.gin, (*same.patterns, *n.patterns))
    order = {p: i for i, p in enumerate(model.patterns)}
    return sorted(merged, key=lambda n: order[n.patterns[0]])


def _need(model: Model, p: Pattern) -> Need | None:
    e = model.entity(p.entity)
    if p.kind == "search":
        return Need(e.name, (p.field or "",), True, (p.name,))
    if p.kind == "find":
        fields = p.where
    elif p.kind == "range" and p.range:
        fields = (*p.where, p.range, *([e.key] if p.order_by == p.range else []))
    elif p.kind == "range":
        fields = (*p.where, *([p.order_by, e.key] if p.order_by else []))
    elif p.kind == "aggregate" and (p.where or p.range):
        fields = (*p.where, *([p.range] if p.range else []))
    else:
        return None  # by key (the primary key), or a whole-table aggregate
    if not fields or fields[0] == e.key or (len(fields) == 1 and (f := e.field(fields[0])) and f.unique):
        return None
    return Need(e.name, tuple(dict.fromkeys(fields)), False, (p.name,))
