"""The model's expressions (checks, range filters) as MongoDB aggregation expressions, for `$expr`.

Arithmetic, comparisons, and / or / not, `a if c else b`, abs, and over an embedded collection count / sum /
min / max translate one to one (decimal literals as Decimal128, exact). round() does not: MongoDB's $round
rounds half to even where the model rounds half up, so an expression with it has no exact translation.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128

from sandbox.workload.expr import Expr

_CMP = {"==": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_BIN = {"+": "$add", "-": "$subtract", "*": "$multiply", "/": "$divide"}


class _Untranslatable(Exception):
    pass


def to_mongo(e: Expr, ref: Callable[[str], str], collections: bool) -> Any:
    """An expression as a MongoDB aggregation expression (`ref(name)` is a field's path), or None when it
    reads a parent, a collection that is not in the document, or rounds (MongoDB's $round is half-even)."""
    if e.parent_names or (e.collections and not collections):
        return None
    try:
        return _mongo(e.tree, ref)
    except _Untranslatable:
        return None


def _mongo(t: tuple, ref: Callable[[str], str]) -> Any:
    kind = t[0]
    if kind == "lit":
        v = t[1]
        return Decimal128(v) if isinstance(v, Decimal) else {"$literal": v} if isinstance(v, str) else v
    if kind == "name":
        return ref(t[1])
    if kind == "neg":
        return {"$subtract": [0, _mongo(t[1], ref)]}
    if kind == "not":
        return {"$not": [_mongo(t[1], ref)]}
    if kind == "bin":
        return {_BIN[t[1]]: [_mongo(t[2], ref), _mongo(t[3], ref)]}
    if kind == "cmp":
        return {_CMP[t[1]]: [_mongo(t[2], ref), _mongo(t[3], ref)]}
    if kind == "bool":
        return {f"${t[1]}": [_mongo(x, ref) for x in t[2]]}
    if kind == "if":
        return {"$cond": [_mongo(t[1], ref), _mongo(t[2], ref), _mongo(t[3], ref)]}
    if kind == "agg":
        _, fn, coll, fld = t
        if fn == "count":
            return {"$size": ref(coll)}
        return {f"${fn}": f"{ref(coll)}.{fld}"}
    if kind == "abs":
        return {"$abs": _mongo(t[1], ref)}
    raise _Untranslatable(kind)  # round: half-even in MongoDB, half-up in the model
