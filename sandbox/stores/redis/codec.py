"""An instance as a Redis write script's arguments, and a hash back as a normalised record (mapping.py's text).

Built once per stored entity as generated Python (one list display of inline conversions, the same text as
mapping.encode / mapping.cell), so a write costs no function call per field; per owned collection one
json.dumps of plain rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from collections.abc import Collection as AnyCollection
from datetime import timedelta
from typing import Any

from sandbox.stores.redis.mapping import EPOCH, NULL, Collection, Layout, decode, uncell

_PLAIN = ("id", "keyword", "text", "enum")
MS = timedelta(milliseconds=1)


def _value(kind: str, ref: str, none: str) -> str:
    """Python source for one value as the hash (or a JSON row) holds it; `ref` reads it, `none` stands for null."""
    if kind in _PLAIN:
        return f"({none} if (v := {ref}) is None else v)"
    convert = {"int": "str(v)", "decimal": "str(v)", "float": "repr(float(v))", "timestamp": "(v - EPOCH) // MS",
               "bool": "('1' if v else '0')"}[kind]
    if none == "None" and kind in ("int", "float", "bool"):  # JSON keeps these as they are (mapping.cell)
        return ref
    if none == "None" and kind == "timestamp":  # epoch ms as a JSON number
        convert = "(v - EPOCH) // MS"
    return f"({none} if (v := {ref}) is None else {convert})"


def _rows_source(coll: Collection, ref: str, depth: int = 0) -> str:
    c = f"c{depth}"
    cells = [_value(col.kind, f"{c}[{col.name!r}]", "None") for col in coll.columns]
    cells += [_rows_source(n, f"{c}[{n.name!r}]", depth + 1) for n in coll.collections]
    return f"[[{', '.join(cells)}] for {c} in {ref}]"


def _compile_args(layout: Layout) -> Callable[[Mapping[str, Any]], list[str]]:
    """One generated function per entity: a list display of inline conversions, no call per field (a write's
    client cost is mostly this and the client library's encoding)."""
    items = [_value(c.kind, f"i[{c.name!r}]", "N") for c in layout.columns]
    items += [f"dumps({_rows_source(coll, f'i[{coll.name!r}]')}, separators=SEPS)" for coll in layout.collections]
    source = "def args(i):\n    return [" + ",\n            ".join(items) + "]\n"
    scope: dict[str, Any] = {"N": NULL, "EPOCH": EPOCH, "MS": MS, "dumps": json.dumps, "SEPS": (",", ":")}
    exec(compile(source, f"<redis args of {layout.entity}>", "exec"), scope)
    return scope["args"]


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
        self.args = _compile_args(layout)  # instance -> the write script's values: columns, then collections (JSON)
        self._decoders = {c.name: _unrows(c) for c in layout.collections}

    def record(self, h: Mapping[str, str], include: AnyCollection[str] | None = None) -> dict[str, Any]:
        """A hash as the record the contract wants (None for a field the hash does not hold); collections named in
        `include` (all when None)."""
        out = {c.name: decode(c, h.get(c.name)) for c in self.layout.columns}
        for name, unrows in self._decoders.items():
            if include is None or name in include:
                raw = h.get(name)
                out[name] = unrows(json.loads(raw)) if raw is not None else []
        return out
