"""Checks that need the whole model: references and owners exist, owned relations form no cycle, copies and
expressions read what is there when it is there, patterns fit their entities; and the types of references,
copies and parent keys are taken from what they point at. Each failure is one line with file:line.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sandbox.workload import gens
from sandbox.workload.schema import NUMERIC, Children, Entity, Field, Model, Pattern

if TYPE_CHECKING:
    from sandbox.workload.toml_lines import Where

KEY_TYPES = ("id", "keyword", "int", "text")
TAG_TYPES = ("keyword", "enum", "id", "bool", "int")


def check_model(model: Model, where: Where) -> Model:
    """The model with every reference, copy and parent key typed; raises ModelError on the first problem."""
    entities = dict(model.entities)
    _owners(model, where)
    for name, e in entities.items():
        if e.role == "child" and not e.key:
            continue  # identified by its owner and position
        key = e.field(e.key)
        if key is None or key.hidden or (key.type.kind not in KEY_TYPES and key.ref is None and not key.parent_key):
            raise where.fail(("entity", name, "key"), f"entity {name}: key {e.key!r} must be a stored field of type "
                             f"{', '.join(KEY_TYPES)}")
    for _ in range(len(entities) + 1):  # copies of copies: resolve until nothing changes
        changed = False
        for name, e in entities.items():
            typed = tuple(_typed(m, e, entities, model, where) for m in e.members)
            if typed != e.members:
                entities[name] = replace(e, members=typed)
                changed = True
        if not changed:
            break
    model = replace(model, entities=entities)
    order = list(entities)
    for e in entities.values():
        _check_entity(e, model, where)
        _check_reference_order(e, model, order, where)
    for p in model.patterns.values():
        _check_pattern(p, model, where)
    return model


def _owners(model: Model, where: Where) -> None:
    owner: dict[str, str] = {}
    for e in model.entities.values():
        for c in e.children:
            at = ("entity", e.name, "fields", c.name)
            target = model.entities.get(c.entity)
            if target is None:
                raise where.fail(at, f"{e.name}.{c.name}: children of unknown entity {c.entity!r}; entities: "
                                 f"{', '.join(model.entities)}")
            if target.role != "child":
                raise where.fail(at, f"{e.name}.{c.name}: {c.entity} is a {target.role} entity; an owned collection "
                                 f"needs role = \"child\" on [entity.{c.entity}]")
            if c.entity in owner:
                raise where.fail(at, f"{e.name}.{c.name}: {c.entity} is owned by {owner[c.entity]} already; a child "
                                 "entity has one owner (declare another entity for the second)")
            owner[c.entity] = e.name
    for e in model.entities.values():
        seen, node = [e.name], e.name
        while node in owner:
            node = owner[node]
            if node in seen:
                cycle = " -> ".join([*seen[seen.index(node):], node])
                raise where.fail(("entity", e.name), f"owned relations form a cycle: {cycle}; an entity cannot own "
                                 "its owner")
            seen.append(node)
        if e.role == "child" and e.name not in owner:
            raise where.fail(("entity", e.name, "role"), f"entity {e.name} is a child but no entity owns it; add "
                             f"a field {{ children = \"{e.name}\" }} to its owner, or make it a reference")
        parents = [f for f in e.fields if f.parent_key]
        if e.role == "child" and len(parents) != 1:
            raise where.fail(("entity", e.name), f"child entity {e.name} needs one field with parent = true (its "
                             f"owner's key), e.g. {owner[e.name]}_id = {{ parent = true }}")
        if e.role != "child" and parents:
            raise where.fail(("entity", e.name, "fields", parents[0].name), f"{e.name}.{parents[0].name}: only a "
                             "child entity has a parent key")


def _typed(m: Field | Children, e: Entity, entities: dict[str, Entity], model: Model, where: Where) -> Field | Children:
    if not isinstance(m, Field):
        return m
    at = ("entity", e.name, "fields", m.name)
    if m.ref is not None:
        target = entities.get(m.ref)
        if target is None:
            raise where.fail((*at, "ref"), f"{e.name}.{m.name}: reference to unknown entity {m.ref!r}; entities: "
                             f"{', '.join(entities)}")
        if target.role == "child":
            raise where.fail((*at, "ref"), f"{e.name}.{m.name}: {m.ref} is owned by another entity; reference its "
                             "owner instead")
        if m.pick.name == "earlier" and m.ref != e.name:
            raise where.fail((*at, "pick"), f"{e.name}.{m.name}: pick = \"earlier\" is for references to the same "
                             "entity")
        if e.role != "root" and target.role == "root" and m.ref != e.name:
            raise where.fail((*at, "ref"), f"{e.name}.{m.name}: a {e.role} entity cannot reference the root "
                             f"{m.ref} (its instances are written by the run, after the reference data)")
        key = target.field(target.key)
        return replace(m, type=key.type) if key is not None and key.type != m.type and key.ref is None else m
    if m.parent_key:
        owner = model.owner_of(e.name)
        key = owner[0].field(owner[0].key) if owner else None
        return replace(m, type=key.type) if key is not None and key.type != m.type else m
    if m.copy:
        source = _copy_source(m, e, entities, model, where)
        return replace(m, type=source.type) if source.type != m.type else m
    return m


def _copy_source(m: Field, e: Entity, entities: dict[str, Entity], model: Model, where: Where) -> Field:
    at = ("entity", e.name, "fields", m.name, "copy")
    path = m.copy
    if path[0] == "parent":
        owner = model.owner_of(e.name)
        if owner is None:
            raise where.fail(at, f"{e.name}.{m.name}: copy from parent, but {e.name} has no owner")
        target, rest = owner[0], list(path[1:])
        position = next(i for i, x in enumerate(target.members) if x.name == owner[1].name)
        source = target.field(rest[0]) if len(rest) == 1 else None
        if source is None or source.derive is not None or \
                next(i for i, x in enumerate(target.members) if x.name == rest[0]) > position:
            raise where.fail(at, f"{e.name}.{m.name}: parent.{rest[0]} must be a field of {target.name} declared "
                             f"before its {owner[1].name} collection (and not derived)")
        return source
    ref = e.field(path[0])
    if ref is None or ref.ref is None:
        raise where.fail(at, f"{e.name}.{m.name}: copy's path starts with a reference field of {e.name} or "
                         f"'parent', got {path[0]!r}")
    target = entities[ref.ref]
    rest = list(path[1:])
    while len(rest) >= 3 and (c := target.member(rest[0])) is not None and isinstance(c, Children):
        if not rest[1].isdigit():
            raise where.fail(at, f"{e.name}.{m.name}: {rest[0]} is a collection; name a position, e.g. {rest[0]}[0]")
        target, rest = entities[c.entity], rest[2:]
    source = target.field(rest[0]) if len(rest) == 1 else None
    if source is None:
        raise where.fail(at, f"{e.name}.{m.name}: {'.'.join(path)} names no field of {target.name}")
    return source


def _check_entity(e: Entity, model: Model, where: Where) -> None:
    at: tuple[str, ...]
    names = [m.name for m in e.members]
    index = {n: i for i, n in enumerate(names)}
    derived_order = [f.name for f in e.fields if f.derive is not None]
    children = {c.name: model.entities[c.entity] for c in e.children}
    for f in e.fields:
        at = ("entity", e.name, "fields", f.name)
        if f.gen is not None and f.gen.name == "template":
            for used in gens.template_names(str(f.gen.params.get("template", ""))):
                if used in ("index", "seed", "position"):
                    continue
                if used not in index or index[used] > index[f.name] or e.field(used) is None \
                        or e.field(used).derive is not None:  # type: ignore[union-attr]
                    raise where.fail(at, f"{e.name}.{f.name}: template reads {{{used}}}, which must be a field of "
                                     f"{e.name} declared before it (or index, seed, position)")
        if f.derive is not None:
            for used in f.derive.names:
                g = e.field(used)
                if g is None:
                    raise where.fail((*at, "derive"), f"{e.name}.{f.name}: derive reads {used!r}, not a field of "
                                     f"{e.name}")
                if g.derive is not None and derived_order.index(used) > derived_order.index(f.name):
                    raise where.fail((*at, "derive"), f"{e.name}.{f.name}: derive reads {used}, derived later; "
                                     f"declare {used} first")
            for coll, fld in f.derive.collections:
                if coll not in children or (fld is not None and children[coll].field(fld) is None):
                    raise where.fail((*at, "derive"), f"{e.name}.{f.name}: {coll}{'.' + fld if fld else ''} is not "
                                     f"an owned collection (field) of {e.name}")
            if f.derive.parent_names and model.owner_of(e.name) is None:
                raise where.fail((*at, "derive"), f"{e.name}.{f.name}: parent.… used, but {e.name} has no owner")
        if f.version and f.type.kind != "int":
            raise where.fail(at, f"{e.name}.{f.name}: a version field is an int")
    if sum(f.version for f in e.fields) > 1:
        raise where.fail(("entity", e.name), f"entity {e.name}: at most one field has version = true")
    for c in e.children:
        if c.distinct is not None:
            child = model.entities[c.entity]
            d = child.field(c.distinct)
            if d is None or d.ref is None:
                raise where.fail(("entity", e.name, "fields", c.name), f"{e.name}.{c.name}: distinct must name a "
                                 f"reference field of {c.entity}")
    for check in e.checks:
        for used in check.expr.names:
            if e.field(used) is None:
                raise where.fail(("entity", e.name, "checks", check.name), f"{e.name} check {check.name}: "
                                 f"{used!r} is not a field of {e.name}")
    if e.stream is not None:
        at = ("entity", e.name, "stream")
        t = e.field(e.stream.time)
        if t is None or t.type.kind != "timestamp" or t.gen is None or t.gen.name != "spaced":
            raise where.fail(at, f"entity {e.name}: stream time must be a timestamp field with gen = \"spaced\" "
                             "(one distinct time per instance: time-series stores key points on time and tags)")
        for tag in e.stream.tags:
            g = e.field(tag)
            if g is None or g.hidden or g.type.kind not in TAG_TYPES:
                raise where.fail(at, f"entity {e.name}: stream tag {tag!r} must be a stored field of type "
                                 f"{', '.join(TAG_TYPES)}")


def _check_reference_order(e: Entity, model: Model, order: list[str], where: Where) -> None:
    """Reference data is made entity by entity in file order: it can point back, or forward (and at itself) only
    to instances whose key comes from their index alone and whose values nothing copies."""
    from sandbox.workload.compile import index_key

    owner = model.owner_of(e.name)
    home = owner[0] if owner else e
    if home.role != "reference":
        return
    for f in e.fields:
        if f.ref is None or model.entities[f.ref].role != "reference" or f.pick.name == "earlier":
            continue
        if order.index(f.ref) < order.index(home.name):
            continue
        copied = any(g.copy and g.copy[0] == f.name for g in e.fields)
        if index_key(model.entities[f.ref], 0) is None or copied:
            raise where.fail(("entity", e.name, "fields", f.name), f"{e.name}.{f.name}: {f.ref} is made after (or "
                             f"with) {home.name}; declare [entity.{f.ref}] first, or give {f.ref} a key made from "
                             "its index (gen = \"template\" or \"sequence\") and copy nothing from it")


def _check_pattern(p: Pattern, model: Model, where: Where) -> None:
    at = ("pattern", p.name)
    e = model.entities[p.entity]
    if p.kind in ("get", "find", "range", "search", "aggregate", "transition", "increment", "insert") \
            and e.role == "child":
        raise where.fail((*at, "entity"), f"pattern {p.name}: {e.name} is owned; query its owner")
    if p.kind == "insert" and e.role != "root":
        raise where.fail((*at, "entity"), f"pattern {p.name}: inserts add instances of the root {model.root}")
    if p.kind == "search" and e.field(p.field or "").type.kind not in ("text", "keyword"):  # type: ignore[union-attr]
        raise where.fail((*at, "field"), f"pattern {p.name}: search needs a text field")
    if p.kind == "aggregate":
        for name in (*p.sums, *p.avgs):
            if e.field(name).type.kind not in NUMERIC:  # type: ignore[union-attr]
                raise where.fail(at, f"pattern {p.name}: {name} is not a number; sum and avg take numbers")
        if p.bucket and e.field(p.bucket.field).type.kind != "timestamp":  # type: ignore[union-attr]
            raise where.fail((*at, "bucket"), f"pattern {p.name}: bucket field must be a timestamp")
    if p.kind == "range" and p.range and e.field(p.range).type.kind not in ("timestamp", *NUMERIC):  # type: ignore[union-attr]
        raise where.fail((*at, "range"), f"pattern {p.name}: range needs a timestamp or number field")
    if p.kind == "range" and p.range and e.field(p.range).type.kind != "timestamp" and p.width is None:  # type: ignore[union-attr]
        raise where.fail((*at, "range"), f"pattern {p.name}: a range on a number needs width = ...")
    if p.kind == "transition":
        t = e.field(p.field or "")
        states = set(t.type.values) if t is not None and t.type.kind == "enum" else None
        named = {*p.next, *p.next.values(), *p.sources, *([p.to] if p.to else [])}
        if states is None:
            raise where.fail((*at, "field"), f"pattern {p.name}: a transition moves an enum field")
        if bad := sorted(named - states):
            raise where.fail(at, f"pattern {p.name}: {bad[0]!r} is not a state of {e.name}.{p.field} "
                             f"({', '.join(t.type.values)})")  # type: ignore[union-attr]
        if e.version_field is None:
            raise where.fail(at, f"pattern {p.name}: {e.name} needs a version field (version = true) so a late "
                             "transition never overwrites a newer one")
    if p.kind in ("decrement", "increment") and e.field(p.field or "").type.kind != "int":  # type: ignore[union-attr]
        raise where.fail((*at, "field"), f"pattern {p.name}: {p.kind} changes a whole-number field")
    if p.kind == "decrement" and (p.targets or p.by):
        root = model.root_entity
        for key, path in (("targets", p.targets), ("by", p.by)):
            if path is None:
                continue
            parts = str(path).split(".")
            owner = root if len(parts) == 1 else model.entities.get(
                next((c.entity for c in root.children if c.name == parts[0]), ""))
            f = owner.field(parts[-1]) if owner is not None and len(parts) <= 2 else None
            if f is None or (key == "targets" and f.ref != p.entity) or (key == "by" and f.type.kind != "int"):
                want = f"a reference to {p.entity}" if key == "targets" else "a whole number"
                raise where.fail((*at, key), f"pattern {p.name}: {key} = {path!r} must name {want} on the root "
                                 f"{root.name} (a field, or collection.field)")
    if p.kind == "insert" and p.then is not None:
        then = model.patterns.get(p.then)
        if then is None or then.kind not in ("decrement", "increment"):
            raise where.fail((*at, "then"), f"pattern {p.name}: then must name a decrement or increment pattern")
    if p.within is not None:
        parts = p.within.split(".")
        src = model.entities.get(parts[0])
        coll = next((c for c in src.children if c.name == parts[1]), None) if src and len(parts) == 3 else None
        f = model.entities[coll.entity].field(parts[2]) if coll else None
        if f is None or f.ref is None:
            raise where.fail((*at, "within"), f"pattern {p.name}: within = \"entity.collection.field\" naming a "
                             "reference field, e.g. user.follows.followee_id")
    if p.kind == "range" and p.filter is not None:
        for used in p.filter.names:
            if e.field(used) is None:
                raise where.fail((*at, "filter"), f"pattern {p.name}: filter reads unknown field {used!r}")
