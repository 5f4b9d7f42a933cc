"""MongoDB's physical design of a model, derived without touching a server (docs/models.md, "Physical designs").

Design "embedded" (the default): a collection per root and per reference entity (named by its plural), `_id`
= the entity's key, owned children embedded as an array in position order (their parent key left out: the
owner's `_id` is it, and reads put it back). Design "referenced": children in a collection of their own
(the child's plural), each document carrying its owner's key and its position (`_pos`), read back with
`$lookup`. Both: a `$jsonSchema` validator from the field types (Decimal128 for decimals, date for
timestamps, no undeclared fields) plus the model's checks as `$expr`, a unique index per unique field, and
an index per access pattern that needs one (equality fields first, then the sort field, then the range:
MongoDB's equality-sort-range rule), an index that is a prefix of another left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.mongo.expressions import to_mongo
from sandbox.workload.expr import Expr
from sandbox.workload.schema import Entity, Field, Model, Pattern

DESIGNS = ("embedded", "referenced")
POSITION = "_pos"  # a referenced child's place among its owner's children
NO_VERSION = "_version"  # where an upsert keeps its version when the root declares no version field
_BSON = {"id": "string", "keyword": "string", "text": "string", "enum": "string", "int": ["int", "long"],
         "decimal": "decimal", "float": ["double", "int", "long"], "timestamp": "date", "bool": "bool"}


@dataclass(frozen=True)
class Index:
    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    why: str = ""

    @property
    def name(self) -> str:
        return "_".join(f"{k}_{d}" for k, d in self.keys)


@dataclass(frozen=True)
class Owned:
    """An owned collection of an entity, as stored: embedded in the owner's document or in its own collection."""

    member: str  # the owner's member (the array field; the $lookup's `as`)
    child: Entity
    parent_key: str  # the child's field holding the owner's key
    collection: str | None = None  # referenced: the child collection


@dataclass(frozen=True)
class Collection:
    entity: Entity
    name: str
    validator: Mapping[str, Any]
    indexes: tuple[Index, ...]
    owned: tuple[Owned, ...]  # children of this entity (embedded or referenced)
    checks: tuple[str, ...] = ()  # the model checks the validator enforces


@dataclass(frozen=True)
class MongoDesign:
    model: Model
    children: str  # embedded | referenced
    collections: Mapping[str, Collection]  # entity -> collection: root, references and (referenced) children

    @property
    def embedded(self) -> bool:
        return self.children == "embedded"

    def collection(self, entity: str) -> Collection:
        return self.collections[entity]

    def path(self, entity: str, field: str) -> str:
        """Where a field of a stored entity lives in its document (the key is `_id`)."""
        return "_id" if field == self.model.entity(entity).key else field

    @property
    def version_field(self) -> str:
        v = self.model.root_entity.version_field
        return v.name if v is not None else NO_VERSION

    def unanswerable(self, p: Pattern) -> str | None:
        """Why the design cannot serve a pattern natively, or None."""
        if p.entity not in self.collections or self.model.entity(p.entity).role == "child":
            return f"patterns on owned children ({p.entity}) are not served: they live inside their owner"
        if p.filter is not None and filter_expr(self, p.entity, p.filter) is None:
            return f"filter {p.filter.text!r} has no exact MongoDB expression (round() is half-even there)"
        return None

    def describe(self) -> str:
        return describe(self)


def derive(model: Model, options: Mapping[str, Any]) -> MongoDesign:
    children = str(options.get("children", "embedded"))
    if children not in DESIGNS:
        raise UsageError(f"mongo: children = {children!r} is not a design; choose from {', '.join(DESIGNS)}")
    embedded = children == "embedded"
    collections: dict[str, Collection] = {}
    for e in model.entities.values():
        if e.role == "child":
            continue
        owned = tuple(_owned(model, e, embedded))
        checks = [c for c in e.checks if _check(model, e, c.expr, embedded) is not None]
        schema = schema_of(model, e, embedded, top=True)
        if e.role == "root" and e.version_field is None:
            schema["properties"][NO_VERSION] = {"bsonType": ["int", "long"]}
        collections[e.name] = Collection(e, e.plural, _validator(schema, model, e, embedded), _indexes(model, e),
                                         owned, tuple(c.name for c in checks))
        if not embedded:
            for o in owned:
                child_schema = schema_of(model, o.child, True, top=True, position=True)  # grandchildren embedded
                keys = ((o.parent_key, 1), (POSITION, 1))
                collections[o.child.name] = Collection(
                    o.child, o.collection or o.child.plural, _validator(child_schema, model, o.child, embedded),
                    (Index(keys, True, f"children of {e.name}"),), (),
                    tuple(c.name for c in o.child.checks if _check(model, o.child, c.expr, embedded) is not None))
    return MongoDesign(model, children, collections)


def _owned(model: Model, e: Entity, embedded: bool) -> list[Owned]:
    out = []
    for c in e.children:
        child = model.entity(c.entity)
        parent = child.parent_key
        out.append(Owned(c.name, child, parent.name if parent else "", None if embedded else child.plural))
    return out


def field_schema(f: Field) -> dict[str, Any]:
    bson = _BSON[f.type.kind]
    types = bson if isinstance(bson, list) else [bson]
    if f.nullable:
        types = [*types, "null"]
    out: dict[str, Any] = {"bsonType": types[0] if len(types) == 1 else types}
    if f.type.kind == "enum":
        out["enum"] = [*f.type.values, *([None] if f.nullable else [])]
    return out


def schema_of(model: Model, e: Entity, embedded: bool, top: bool, position: bool = False) -> dict[str, Any]:
    """The $jsonSchema of an entity's document (top: nothing undeclared) or of one embedded child (not top: its
    parent key left out, typed and required but not closed: the stand-in, a Python server, checks every element
    of every array, and closing them too cost a tenth of its insert rate); `embedded`: its children are arrays
    in it."""
    props: dict[str, Any] = {}
    required: list[str] = []
    keyed = top and bool(e.key)
    if top and not keyed:
        props["_id"] = {"bsonType": "objectId"}
    for f in e.stored_fields:
        if f.parent_key and not top:
            continue
        name = "_id" if keyed and f.name == e.key else f.name
        props[name] = field_schema(f)
        if not f.nullable:
            required.append(name)
    if position:
        props[POSITION] = {"bsonType": "int"}
        required.append(POSITION)
    if embedded:
        for c in e.children:
            props[c.name] = {"bsonType": "array", "items": schema_of(model, model.entity(c.entity), True, False)}
            required.append(c.name)
    return {"bsonType": "object", "required": required, "properties": props, **({"additionalProperties": False}
                                                                                if top else {})}


def _validator(schema: dict[str, Any], model: Model, e: Entity, embedded: bool) -> dict[str, Any]:
    """The $jsonSchema and the entity's own checks as $expr (an embedded child's checks are not: $map over every
    array on every insert is what the stand-in is slowest at; the comparison checks them on read-back)."""
    checks = [x for c in e.checks if (x := _check(model, e, c.expr, embedded)) is not None]
    validator: dict[str, Any] = {"$jsonSchema": schema}
    if checks:
        validator["$expr"] = checks[0] if len(checks) == 1 else {"$and": checks}
    return validator


def _check(model: Model, e: Entity, expr: Expr, embedded: bool) -> Any:
    return to_mongo(expr, lambda n: "$_id" if n == e.key else f"${n}", collections=embedded)


def filter_expr(design: MongoDesign, entity: str, expr: Expr) -> Any:
    """A pattern's filter as a $expr over the entity's document, or None where there is no exact translation."""
    return to_mongo(expr, lambda n: "$" + design.path(entity, n), collections=design.embedded)


def pattern_fields(p: Pattern) -> tuple[str, ...]:
    """The fields an index for a pattern covers, in order (equality, sort, range), or () when none helps."""
    if p.kind == "find":
        fields = list(p.where)
    elif p.kind == "range":
        fields = [*p.where, *([p.order_by] if p.order_by else []), *([p.range] if p.range else [])]
    elif p.kind == "aggregate":
        fields = [*p.where, *([p.range] if p.range else [])]
    else:
        return ()
    return tuple(dict.fromkeys(fields))


def _indexes(model: Model, e: Entity) -> tuple[Index, ...]:
    path = {e.key: "_id"}
    found = [Index(((f.name, 1),), True, f"unique {f.name}") for f in e.stored_fields if f.unique and f.name != e.key]
    for p in model.patterns.values():
        fields = pattern_fields(p) if p.entity == e.name else ()
        keys = tuple((path.get(f, f), 1) for f in fields)
        if keys and keys != (("_id", 1),):
            found.append(Index(keys, False, p.name))
    merged: dict[tuple[tuple[str, int], ...], Index] = {}
    for ix in found:  # one index per key list, unique if any asks for it
        same = merged.get(ix.keys)
        merged[ix.keys] = ix if same is None else Index(ix.keys, same.unique or ix.unique, f"{same.why}, {ix.why}")
    # a plain index that is a prefix of a longer one is not needed: the longer one serves its queries
    out = [ix for ix in merged.values()
           if ix.unique or not any(len(o.keys) > len(ix.keys) and o.keys[:len(ix.keys)] == ix.keys
                                   for o in merged.values())]
    return tuple(out)


def describe(d: MongoDesign) -> str:
    lines = [f"MongoDB, design {d.children!r}: a database per run; " +
             ("children embedded as arrays in position order" if d.embedded
              else "children in collections of their own (owner key + _pos), a root and its children written "
                   "in one multi-document transaction, read with $lookup")]
    for c in d.collections.values():
        e = c.entity
        key = f"_id = {e.key}" if e.key else "_id = ObjectId"
        lines.append(f"collection {c.name} ({e.role} {e.name}; {key})")
        fields = [f"{'_id' if f.name == e.key and e.key else f.name}: {_type(f)}" for f in e.stored_fields
                  if not (d.embedded and f.parent_key)]
        lines.append("  fields: " + ", ".join(fields))
        for o in c.owned:
            kept = ", ".join(f"{f.name}: {_type(f)}" for f in o.child.stored_fields if not f.parent_key)
            lines.append(f"  {o.member}: [{{{kept}}}] embedded, {o.parent_key} from the owner's _id" if d.embedded
                         else f"  {o.member}: collection {o.collection} ({o.parent_key}, {POSITION})")
        checks = f" + $expr checks {', '.join(c.checks)}" if c.checks else ""
        lines.append(f"  validator: $jsonSchema (types, required fields, nothing undeclared; embedded children typed"
                     f" and required){checks}")
        for ix in c.indexes:
            lines.append(f"  index {ix.name}{' unique' if ix.unique else ''} ({ix.why})")
    for p in d.model.patterns.values():
        why = d.unanswerable(p)
        lines.append(f"pattern {p.name} ({p.kind}): " + (f"not answerable: {why}" if why else how(d, p)))
    return "\n".join(lines)


def _type(f: Field) -> str:
    return {"decimal": "Decimal128", "timestamp": "date", "int": "int", "float": "double", "bool": "bool"}.get(
        f.type.kind, "string" if f.type.kind != "enum" else f"enum({', '.join(f.type.values)})")


def how(d: MongoDesign, p: Pattern) -> str:
    coll = d.collection(p.entity).name if p.entity in d.collections else "?"
    return {
        "insert": "insert_one of the document" + ("" if d.embedded else "s in one transaction (3 round trips)"),
        "get": "find_one by _id" + ("" if d.embedded else " with $lookup of the included children"),
        "find": f"find on {coll} by {', '.join(p.where)}",
        "range": f"find on {coll}, sorted by {p.order_by or '-'} (then _id), limit {p.limit}",
        "search": f"$regex on word boundaries over {p.field}, case-insensitive: a scan (the stand-in has no text "
                  "index)",
        "aggregate": "aggregate: $match, $group" + (" by epoch-aligned buckets" if p.bucket else "") +
                     " (Decimal128 sums are exact)",
        "transition": "update_one with the version gate (and the from-states) in the filter",
        "decrement": "one conditional update_one with $inc" if "." not in (p.targets or "") else
                     "a multi-document transaction: one bulk_write of conditional $inc, aborted when one is short "
                     "(a write conflict with a concurrent transaction aborts it too: not applied)",
        "increment": "find_one_and_update with $inc, returning the new value",
    }[p.kind]
