"""Histories in Elle's EDN form, one operation per line, so `elle-cli` can re-check what the sandbox saw:

    {:type :invoke, :f :txn, :value [[:append 5 3] [:r 5 nil]], :process 0, :time 123, :index 0}
    {:type :ok, :f :txn, :value [[:append 5 3] [:r 5 [1 3]]], :process 0, :time 456, :index 1}

Integer keys and values are written as integers, string keys as keywords (`:x`) where EDN allows, else
as strings. The reader takes the subset such files use (maps, vectors, lists, keywords, integers,
floats, strings, nil, booleans, `;` comments); keywords come back as plain strings. It is our own: the
maintained PyPI library (edn_format, a PLY parser) reads about 900 lines a second here, four minutes
for a 100k-transaction history; the tests use it to confirm that what we write is EDN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sandbox.measure.isolation.history import History, HistoryError, Op, Txn

_KEYWORD = re.compile(r"[A-Za-z*+!_?<>=][A-Za-z0-9*+!_?<>=.\-]*\Z")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|;[^\n]*|[\[\](){}]|#\{|[^\s,\[\](){}";]+')
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f", "/": "/"}
_CLOSE = {"[": "]", "(": ")", "{": "}", "#{": "}"}


def value(x: Any, keyword: bool = False) -> str:
    """One EDN value; a string becomes a keyword when `keyword` and the name allows it."""
    if x is None:
        return "nil"
    if x is True or x is False:
        return "true" if x else "false"
    if isinstance(x, int | float):
        return repr(x)
    if isinstance(x, str):
        if keyword and _KEYWORD.match(x):
            return ":" + x
        return '"' + "".join(_ESCAPES.get(c, c) for c in x) + '"'
    if isinstance(x, list | tuple):
        return "[" + " ".join(value(v) for v in x) + "]"
    raise TypeError(f"cannot write {type(x).__name__} {x!r} as EDN")


def brief(x: Any, keep: int = 12) -> str:
    """A value as findings show it: a long list keeps its first 3 and last 6 elements and says how long it is."""
    if isinstance(x, list | tuple) and len(x) > keep:
        return (f"[{' '.join(value(v) for v in x[:3])} ... {' '.join(value(v) for v in x[-6:])}] "
                f"({len(x)} elements)")
    return value(x)


def name(key: Any) -> str:
    """A key as findings show it: `x`, `5`."""
    return key if isinstance(key, str) else value(key)


def mops(ms: Iterable[tuple[str, Any, Any]]) -> str:
    return "[" + " ".join(f"[:{f} {value(k, keyword=True)} {value(v)}]" for f, k, v in ms) + "]"


def line(op: Op) -> str:
    return (f"{{:type :{op.type}, :f :{op.f}, :value {mops(op.value)}, :process {op.process}, "
            f":time {op.time}, :index {op.index}}}")


def txn_line(t: Txn) -> str:
    """How a finding shows a transaction: `T12 ok process 3 [[:append x 3] [:r y [1 2]]]`."""
    return f"{t.name} {t.type} process {t.process} {mops(t.mops)}"


def dumps(history: History) -> str:
    return "".join(line(op) + "\n" for op in history)


def dump(history: History, path: Path) -> None:
    with path.open("w") as out:
        for op in history:
            out.write(line(op) + "\n")


def _atom(tok: str) -> Any:
    if tok[0] == '"':
        return re.sub(r"\\(.)", lambda m: _UNESCAPES.get(m.group(1), m.group(1)), tok[1:-1])
    if tok[0] == ":":
        return tok[1:]
    if tok == "nil":
        return None
    if tok in ("true", "false"):
        return tok == "true"
    if _INT.match(tok):
        return int(tok.rstrip("N"))
    if _FLOAT.match(tok):
        return float(tok.rstrip("M"))
    if tok[0] == "#":
        raise HistoryError(f"EDN tag {tok!r} is outside the subset this reader takes")
    return tok  # a symbol: kept as its name


def values(text: str) -> Iterator[Any]:
    """Every top-level EDN value in text, in order."""
    stack: list[tuple[str, list[Any]]] = []
    atoms: dict[str, Any] = {}  # keywords and small numbers repeat on every line: parse each once
    for tok in _TOKEN.findall(text):
        if tok[0] == ";":
            continue
        if tok in _CLOSE:
            stack.append((tok, []))
            continue
        if tok in ("]", ")", "}"):
            if not stack or _CLOSE[stack[-1][0]] != tok:
                raise HistoryError(f"EDN: unbalanced {tok!r}")
            opener, items = stack.pop()
            if opener == "{":
                if len(items) % 2:
                    raise HistoryError("EDN: a map with an odd number of forms")
                done: Any = dict(zip(items[::2], items[1::2], strict=True))
            else:
                done = items if opener != "#{" else set(items)
        elif tok in atoms:
            done = atoms[tok]
        else:
            done = atoms[tok] = _atom(tok)
        if stack:
            stack[-1][1].append(done)
        else:
            yield done
    if stack:
        raise HistoryError(f"EDN: {len(stack)} unclosed {stack[-1][0]!r}")


def _op(form: Any, position: int) -> Op:
    if not isinstance(form, dict):
        raise HistoryError(f"EDN form {position}: expected an operation map, got {form!r}")
    f, raw, process = str(form.get("f", "txn")), form.get("value"), form.get("process", 0)
    ms: tuple[tuple[Any, Any, Any], ...] = ()
    if f == "txn":  # other operations (a nemesis's) are kept but never read as transactions
        if not isinstance(raw, list) or not all(isinstance(m, list) and len(m) == 3 for m in raw):
            raise HistoryError(f"EDN form {position}: {raw!r} is not a list of [f k v]")
        ms = tuple((m[0], m[1], m[2]) for m in raw)
    return Op(int(form.get("index", position)), process if isinstance(process, int) else -1, str(form.get("type")),
              ms, int(form.get("time", 0) or 0), f)


def loads(text: str) -> History:
    """A history from EDN text (operations renumbered by position when they carry no :index)."""
    return History([_op(form, n) for n, form in enumerate(values(text))])


def load(path: Path) -> History:
    return loads(path.read_text())
