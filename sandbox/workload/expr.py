"""The model's expression language: derived fields and checks, e.g. `subtotal + tax_amount + shipping_amount`.

A small, safe subset of Python's expression syntax, parsed with `ast` and checked node by node: field
names (and `parent.x`), numbers (exact: `0.0825` is Decimal("0.0825"), never a float), strings, True /
False / None, + - * /, comparisons, and / or / not, `a if cond else b`, and the functions sum, count, min,
max over an owned collection's field (`sum(items.total_price)`, `count(items)`), round(x, n) (half up,
as money is rounded) and abs. Compiled once to a Python function of (instance, parent); stores that can
enforce a check themselves translate the same tree (e.g. PostgreSQL CHECK constraints, `to_sql`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FUNCTIONS = ("sum", "count", "min", "max", "round", "abs")
AGGREGATES = ("sum", "count", "min", "max")
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class ExprError(ValueError):
    """What is wrong with an expression, in words a model author can act on."""


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its text, its tree (nested tuples, see _node) and the names it reads."""

    text: str
    tree: tuple
    names: frozenset[str]  # plain field names of the same entity
    parent_names: frozenset[str]  # parent.x
    collections: frozenset[tuple[str, str | None]]  # (children, field) read by sum/count/min/max

    def compile(self) -> Callable[[Mapping[str, Any], Mapping[str, Any] | None], Any]:
        source = python_source(self.tree)
        code = compile(f"lambda i, p: {source}", f"<expr {self.text!r}>", "eval")
        return eval(code, {"__builtins__": {}, "_round": _round, "_sum": _sum, "_count": len,
                           "_min": min, "_max": max, "_abs": abs, "D": Decimal})


def parse(text: str) -> Expr:
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"not an expression: {text!r} ({exc.msg})") from None
    names: set[str] = set()
    parents: set[str] = set()
    collections: set[tuple[str, str | None]] = set()
    node = _node(tree, text.strip(), names, parents, collections)
    return Expr(text.strip(), node, frozenset(names), frozenset(parents), frozenset(collections))


def _node(n: ast.AST, src: str, names: set[str], parents: set[str],
          collections: set[tuple[str, str | None]]) -> tuple:
    def sub(x: ast.AST) -> tuple:
        return _node(x, src, names, parents, collections)

    if isinstance(n, ast.Constant):
        if isinstance(n.value, bool) or n.value is None or isinstance(n.value, str):
            return ("lit", n.value)
        if isinstance(n.value, int | float):
            literal = ast.get_source_segment(src, n) or repr(n.value)
            return ("lit", Decimal(literal) if isinstance(n.value, float) else n.value)
        raise ExprError(f"unsupported constant {n.value!r} in {src!r}")
    if isinstance(n, ast.Name):
        names.add(n.id)
        return ("name", n.id)
    if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "parent":
        parents.add(n.attr)
        return ("parent", n.attr)
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
        return ("neg", sub(n.operand))
    if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
        return ("not", sub(n.operand))
    if isinstance(n, ast.BinOp) and type(n.op) in _BIN:
        return ("bin", _BIN[type(n.op)], sub(n.left), sub(n.right))
    if isinstance(n, ast.Compare):
        parts, left = [], n.left
        for op, right in zip(n.ops, n.comparators, strict=True):
            if type(op) not in _CMP:
                raise ExprError(f"unsupported comparison in {src!r}: use == != < <= > >=")
            parts.append(("cmp", _CMP[type(op)], sub(left), sub(right)))
            left = right
        return parts[0] if len(parts) == 1 else ("bool", "and", tuple(parts))
    if isinstance(n, ast.BoolOp):
        return ("bool", "and" if isinstance(n.op, ast.And) else "or", tuple(sub(v) for v in n.values))
    if isinstance(n, ast.IfExp):
        return ("if", sub(n.test), sub(n.body), sub(n.orelse))
    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and not n.keywords:
        fn = n.func.id
        if fn not in FUNCTIONS:
            raise ExprError(f"unknown function {fn}() in {src!r}: choose from {', '.join(FUNCTIONS)}")
        if fn in AGGREGATES:
            if len(n.args) != 1:
                raise ExprError(f"{fn}() takes one argument, a collection or collection.field, in {src!r}")
            arg = n.args[0]
            if fn == "count" and isinstance(arg, ast.Name):
                collections.add((arg.id, None))
                return ("agg", fn, arg.id, None)
            if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                collections.add((arg.value.id, arg.attr))
                return ("agg", fn, arg.value.id, arg.attr)
            raise ExprError(f"{fn}() needs an owned collection's field, e.g. {fn}(items.quantity), in {src!r}")
        if fn == "round":
            if len(n.args) != 2 or not isinstance(n.args[1], ast.Constant) or not isinstance(n.args[1].value, int):
                raise ExprError(f"round() takes a value and a whole number of places, e.g. round(x, 2), in {src!r}")
            return ("round", sub(n.args[0]), n.args[1].value)
        if len(n.args) != 1:
            raise ExprError(f"abs() takes one argument in {src!r}")
        return ("abs", sub(n.args[0]))
    raise ExprError(f"unsupported syntax {type(n).__name__} in {src!r} (see docs/models.md, expressions)")


def python_source(t: tuple, inst: str = "i") -> str:
    """The tree as Python source reading the instance from `inst` and the parent from `p`."""
    def _python(x: tuple) -> str:
        return python_source(x, inst)

    kind = t[0]
    if kind == "lit":
        return f"D({str(t[1])!r})" if isinstance(t[1], Decimal) else repr(t[1])
    if kind == "name":
        return f"{inst}[{t[1]!r}]"
    if kind == "parent":
        return f"p[{t[1]!r}]"
    if kind == "neg":
        return f"(-{_python(t[1])})"
    if kind == "not":
        return f"(not {_python(t[1])})"
    if kind in ("bin", "cmp"):
        return f"({_python(t[2])} {t[1]} {_python(t[3])})"
    if kind == "bool":
        return "(" + f" {t[1]} ".join(_python(x) for x in t[2]) + ")"
    if kind == "if":
        return f"({_python(t[2])} if {_python(t[1])} else {_python(t[3])})"
    if kind == "agg":
        _, fn, coll, fld = t
        if fn == "count":
            return f"_count({inst}[{coll!r}])"
        return f"_{fn}([c[{fld!r}] for c in {inst}[{coll!r}]])"
    if kind == "round":
        return f"_round({_python(t[1])}, {t[2]})"
    if kind == "abs":
        return f"_abs({_python(t[1])})"
    raise AssertionError(kind)


def _round(value: Any, places: int) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return round(value, places)


def _sum(values: list) -> Any:
    total: Any = 0
    for v in values:
        total = total + v
    return total


def to_sql(e: Expr, column: Callable[[str], str]) -> str | None:
    """The expression as SQL over the entity's own columns, or None when it reads children or a parent
    (a CHECK constraint sees one row only)."""
    if e.parent_names or e.collections:
        return None
    return _sql(e.tree, column)


def _sql(t: tuple, column: Callable[[str], str]) -> str:
    kind = t[0]
    if kind == "lit":
        v = t[1]
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return str(v)
    if kind == "name":
        return column(t[1])
    if kind == "neg":
        return f"(-{_sql(t[1], column)})"
    if kind == "not":
        return f"(NOT {_sql(t[1], column)})"
    if kind == "bin":
        return f"({_sql(t[2], column)} {t[1]} {_sql(t[3], column)})"
    if kind == "cmp":
        op = {"==": "=", "!=": "<>"}.get(t[1], t[1])
        return f"({_sql(t[2], column)} {op} {_sql(t[3], column)})"
    if kind == "bool":
        return "(" + f" {t[1].upper()} ".join(_sql(x, column) for x in t[2]) + ")"
    if kind == "if":
        return f"(CASE WHEN {_sql(t[1], column)} THEN {_sql(t[2], column)} ELSE {_sql(t[3], column)} END)"
    if kind == "round":
        return f"round({_sql(t[1], column)}, {t[2]})"
    if kind == "abs":
        return f"abs({_sql(t[1], column)})"
    raise AssertionError(kind)
