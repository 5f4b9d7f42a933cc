"""Instances as Elasticsearch `_source` documents and back, for one entity of a design (mapping.py).

Decimals go in as text (the mapping makes them scaled_float: `_source` keeps the text, so reads are exact),
times as ISO text with milliseconds, nested children without their parent key (the owner's `_id` is it).
The field lists are worked out once per entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.stores.contract import Record, exact
from sandbox.workload.dataset import Instance
from sandbox.workload.schema import Entity, Model


class Codec:
    def __init__(self, model: Model, entity: Entity):
        self.key = entity.key
        fields = entity.stored_fields
        self.decimals = tuple(f.name for f in fields if f.type.kind == "decimal")
        self.scales = {f.name: f.type.scale for f in fields if f.type.kind == "decimal"}
        self.times = tuple(f.name for f in fields if f.type.kind == "timestamp")
        self.children = tuple((c.name, _parent_key(child), Codec(model, child))
                              for c in entity.children for child in (model.entity(c.entity),))

    def encode(self, inst: Instance, parent: str = "") -> dict[str, Any]:
        doc = dict(inst)
        if parent:
            del doc[parent]
        for f in self.decimals:
            if (v := doc[f]) is not None:
                doc[f] = str(v)
        for f in self.times:
            if (v := doc[f]) is not None:
                doc[f] = v.isoformat(timespec="milliseconds")
        for member, child_parent, codec in self.children:
            doc[member] = [codec.encode(c, child_parent) for c in doc[member]]
        return doc

    def decode(self, src: Mapping[str, Any], parent: str = "", owner: Any = None) -> Record:
        rec = dict(src)
        if parent:
            rec[parent] = owner
        for f in self.decimals:
            if (v := rec.get(f)) is not None:
                rec[f] = Decimal(v) if isinstance(v, str) else exact(v, self.scales[f])  # text: as it was sent
        for f in self.times:
            if (v := rec.get(f)) is not None:
                rec[f] = datetime.fromisoformat(v).astimezone(UTC)
        for member, child_parent, codec in self.children:
            if member in rec:
                rec[member] = [codec.decode(c, child_parent, rec.get(self.key)) for c in rec[member]]
        return rec


def _parent_key(child: Entity) -> str:
    return child.parent_key.name if child.parent_key is not None else ""
