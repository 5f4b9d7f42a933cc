"""MongoDB's indexes for the index-cost step (contract.IndexCost): the design's pattern indexes (mapping.Index,
named `<collection>.<index>` as the footprint names them) dropped and rebuilt, and each index's accesses from
`$indexStats` (accesses.ops since accesses.since: counted from the index's creation or the server's restart).
A server that keeps no such count (the stand-in answers ops 0 with no `since`) gets None, never a 0."""

from __future__ import annotations

from typing import Any

from pymongo import IndexModel

from sandbox.stores.contract import IndexUse
from sandbox.stores.mongo.mapping import MongoDesign

SOURCE = "$indexStats accesses.ops (counted since accesses.since: the index's creation or a server restart)"


def droppable(design: MongoDesign) -> dict[str, tuple[str, Any]]:
    """`collection.index` -> (entity, Index) for the indexes that serve access patterns and enforce nothing."""
    return {f"{c.name}.{ix.name}": (entity, ix) for entity, c in design.collections.items()
            for ix in c.indexes if not ix.unique and ix.why}


def served(design: MongoDesign) -> dict[str, tuple[str, ...]]:
    return {name: tuple(p.strip() for p in ix.why.split(",")) for name, (_, ix) in droppable(design).items()}


async def usage(db: Any, design: MongoDesign) -> list[IndexUse]:
    out = []
    for c in design.collections.values():
        async for s in await db[c.name].aggregate([{"$indexStats": {}}]):
            counted = (s.get("accesses") or {}).get("since") is not None
            unique = bool(s.get("spec", {}).get("unique")) or s["name"] == "_id_" or any(
                ix.unique and ix.name == s["name"] for ix in c.indexes)
            out.append(IndexUse(f"{c.name}.{s['name']}", int(s["accesses"]["ops"]) if counted else None, unique))
    return sorted(out, key=lambda u: u.name)


async def rebuild(collection: Any, ix: Any) -> None:
    await collection.create_indexes([IndexModel(list(ix.keys), unique=ix.unique, name=ix.name)])
