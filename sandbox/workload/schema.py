"""A domain model as plain data: entities with typed fields, owned children, references, access patterns, mixes.

Loaded from a model file (models/NAME.toml, see docs/models.md) by `model_file.load`; nothing here reads
files or draws numbers. A field's place in its entity is also its place in the draw order: generation
walks the members in the order the file lists them (see dataset.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.workload.expr import Expr

TYPES = ("id", "int", "decimal", "float", "text", "keyword", "timestamp", "bool", "enum")
NUMERIC = ("int", "decimal", "float")
ROLES = ("root", "reference", "child")


@dataclass(frozen=True)
class FieldType:
    kind: str  # one of TYPES
    scale: int = 0  # decimal: digits after the point
    values: tuple[str, ...] = ()  # enum: the allowed values, in order

    def __str__(self) -> str:
        if self.kind == "decimal":
            return f"decimal({self.scale})"
        return f"enum({', '.join(self.values)})" if self.kind == "enum" else self.kind


@dataclass(frozen=True)
class Gen:
    """A generator from the catalogue (gens.py) with its explicit parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pick:
    """How a reference chooses its target among the referenced entity's instances."""

    name: str = "uniform"  # uniform | zipfian | earlier (self-references: an instance made before this one)
    skew: float = 0.99
    null_every: int = 0  # earlier: every N-th instance (index % N == 0) references nothing


@dataclass(frozen=True)
class Field:
    """A scalar member. Exactly one of gen, ref, copy, derive, parent_key says where its value comes from."""

    name: str
    type: FieldType
    line: int  # where the model file declares it (for messages)
    gen: Gen | None = None
    ref: str | None = None  # the referenced entity (its key is the value)
    pick: Pick = field(default_factory=Pick)
    copy: tuple[str, ...] = ()  # a path: ("customer_id", "segment"), ("parent", "city"), ("customer_id", "addresses",
    # "0", "id")
    derive: Expr | None = None
    parent_key: bool = False  # a child's link to its owner (the owner's key)
    hidden: bool = False  # drawn and usable by templates and expressions, never stored or compared
    unique: bool = False
    nullable: bool = False
    text_search: bool = False  # queried by words (full text), not only by exact value
    version: bool = False  # the field a conditional update's version gate reads and writes

    @property
    def draws(self) -> bool:
        """Whether making this field consumes random numbers (its place in the file then matters)."""
        return self.gen is not None or (self.ref is not None and not self.parent_key)


@dataclass(frozen=True)
class Children:
    """An owned collection: instances of a child entity living and dying with their owner (an aggregate)."""

    name: str
    entity: str
    count: Gen  # how many per owner (a numeric generator; `constant` for a fixed number)
    line: int
    distinct: str | None = None  # a reference field of the child that is unique within one owner


Member = Field | Children


@dataclass(frozen=True)
class Stream:
    """An entity that is also an event stream: a time field and tags, for time-series stores."""

    time: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    name: str
    expr: Expr
    line: int


@dataclass(frozen=True)
class Entity:
    name: str
    role: str  # root: written by the run, one per index | reference: loaded at prepare | child: owned
    members: tuple[Member, ...]
    line: int
    key: str = "id"  # "" for a child identified by its owner and its position
    plural: str = ""
    count: int = 0  # reference entities: how many
    seed_group: str | None = None  # reference entities generated as one sequence with others of the group
    stream: Stream | None = None
    checks: tuple[Check, ...] = ()

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(m for m in self.members if isinstance(m, Field))

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.hidden)

    @property
    def children(self) -> tuple[Children, ...]:
        return tuple(m for m in self.members if isinstance(m, Children))

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def parent_key(self) -> Field | None:
        return next((f for f in self.fields if f.parent_key), None)

    @property
    def version_field(self) -> Field | None:
        return next((f for f in self.fields if f.version), None)


PatternKind = Literal["insert", "get", "find", "range", "search", "aggregate", "transition", "decrement",
                      "increment"]
PATTERN_KINDS: tuple[str, ...] = ("insert", "get", "find", "range", "search", "aggregate", "transition",
                                  "decrement", "increment")


@dataclass(frozen=True)
class Bucket:
    field: str
    every_ms: int


@dataclass(frozen=True)
class Pattern:
    """A named logical operation on the model (docs/models.md, "Access patterns")."""

    name: str
    kind: str  # one of PATTERN_KINDS
    entity: str
    line: int
    where: tuple[str, ...] = ()  # find / range / aggregate: fields compared for equality with parameters
    within: str | None = None  # range: where the `where` value is a list (`IN`), the entity whose keys fill it
    range: str | None = None  # range / aggregate: the field a window is taken on
    span: int = 100  # range on a spaced timestamp: a window covers 1..span instances' slots (YCSB E's scans)
    width: Any = None  # range on a number: the window's width
    order_by: str | None = None
    descending: bool = False
    limit: int = 0
    filter: Expr | None = None  # range: a further condition (e.g. value > 30)
    include: tuple[str, ...] = ()  # get: owned collections returned with the instance
    field: str | None = None  # search: the text field; transition/decrement/increment: the field changed
    group_by: tuple[str, ...] = ()
    bucket: Bucket | None = None
    count: bool = True
    sums: tuple[str, ...] = ()
    avgs: tuple[str, ...] = ()
    check: bool = False  # aggregate: every store's answer compared with the expected one after a run
    next: Mapping[str, str] = dataclasses.field(default_factory=dict)  # transition: state -> next state
    sources: tuple[str, ...] = ()  # transition: only from these states (empty: any state with a `next`)
    to: str | None = None  # transition: the state set (when not by `next`)
    read_first: bool = False  # transition: read-modify-write (YCSB F): the next state and version from a read
    by: str | None = None  # decrement: "children.field" of a root instance giving amounts per target
    targets: str | None = None  # decrement: "children.field" giving the target keys
    amount: int = 1  # decrement / increment: the fixed amount when `by` is not given
    floor: int = 0  # decrement: never below this
    then: str | None = None  # insert: a pattern run after the insert succeeded (the shop's stock)
    set: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # insert: fields set on the new instance (status)
    distribution: str = "uniform"  # which existing instances operations pick (keys, parameters)
    skew: float = 0.99


@dataclass(frozen=True)
class Mix:
    name: str
    weights: tuple[tuple[str, float], ...]  # pattern name -> share (normalised to 1)
    line: int


@dataclass(frozen=True)
class Variant:
    """A named physical design of one store for this model (e.g. mongo with children referenced)."""

    name: str
    store: str
    options: Mapping[str, Any]
    line: int


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    path: str  # the file it came from (messages, results)
    entities: Mapping[str, Entity]
    patterns: Mapping[str, Pattern]
    mixes: Mapping[str, Mix]
    variants: Mapping[str, Variant]
    root: str  # the entity the write phase writes

    @property
    def root_entity(self) -> Entity:
        return self.entities[self.root]

    def entity(self, name: str) -> Entity:
        return self.entities[name]

    def owner_of(self, child: str) -> tuple[Entity, Children] | None:
        for entity in self.entities.values():
            for c in entity.children:
                if c.entity == child:
                    return entity, c
        return None

    @property
    def references(self) -> tuple[Entity, ...]:
        return tuple(e for e in self.entities.values() if e.role == "reference")

    def checked_aggregates(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.patterns.values() if p.kind == "aggregate" and p.check)
