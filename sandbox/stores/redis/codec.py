"""An instance as a Redis write script's arguments, and a hash back as a normalised record (mapping.py's text).

Built once per stored entity: the columns' encoders in order, so a write costs one list comprehension and,
per owned collection, one json.dumps of plain rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from collections.abc import Collection as AnyCollection
from typing import Any

from sandbox.stores.redis.mapping import NULL, Collection, Column, Layout, cell, decode, encode, uncell

_PLAIN = ("id", "keyword", "text", "enum")


def _encoder(c: Column) -> Callable[[Any], str]:
    if c.kind in _PLAIN:
        return lambda v: NULL if v is None else v if type(v) is str else str(v)
    kind = c.kind
    return lambda v: encode(kind, v)


def _rows(coll: Collection) -> Callable[[list[dict[str, Any]]], list[list[Any]]]:
    cols = [(c.name, c.kind) for c in coll.columns]
    nested = [(n.name, _rows(n)) for n in coll.collections]

    def rows(children: list[dict[str, Any]]) -> list[list[Any]]:
        return [[cell(kind, child[name]) for name, kind in cols] + [sub(child[n]) for n, sub in nested]
                for child in children]
    return rows


def _unrows(coll: Collection) -> Callable[[list[list[Any]]], list[dict[str, Any]]]:
    cols = coll.columns
    nested = [(n.name, _unrows(n)) for n in coll.collections]
    width = len(cols)

    def unrows(rows: list[list[Any]]) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            child = {c.name: uncell(c, v) for c, v in zip(cols, r, strict=False)}
            for i, (name, sub) in enumerate(nested):
                child[name] = sub(r[width + i])
            out.append(child)
        return out
    return unrows


class Codec:
    def __init__(self, layout: Layout):
        self.layout = layout
        self._scalars = [(c.name, _encoder(c)) for c in layout.columns]
        self._collections = [(c.name, _rows(c)) for c in layout.collections]
        self._decoders = {c.name: _unrows(c) for c in layout.collections}

    def args(self, inst: Mapping[str, Any]) -> list[str]:
        """The values in the write script's order: columns, then each collection as JSON."""
        out = [enc(inst[name]) for name, enc in self._scalars]
        out += [json.dumps(rows(inst[name]), separators=(",", ":")) for name, rows in self._collections]
        return out

    def record(self, h: Mapping[str, str], include: AnyCollection[str] | None = None) -> dict[str, Any]:
        """A hash as the record the contract wants (None for a field the hash does not hold); collections named in
        `include` (all when None)."""
        out = {c.name: decode(c, h.get(c.name)) for c in self.layout.columns}
        for name, unrows in self._decoders.items():
            if include is None or name in include:
                raw = h.get(name)
                out[name] = unrows(json.loads(raw)) if raw is not None else []
        return out
