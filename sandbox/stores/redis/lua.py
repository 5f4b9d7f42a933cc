"""The Lua scripts of a Redis design (mapping.py), generated per entity and per pattern; pure text, no I/O.

Lua scripts run atomically: nothing else runs on the server between their reads and writes, so an
instance's hash, its index entries and its counters change together (docs/models.md, Redis). Every script
takes the run's key prefix as ARGV[1] (so one script text serves every run) and builds the structures' keys
from it and the hash's own values, which is how a transition can move an instance between index sets and
counters without the client knowing its other fields. Values arrive as the text the hash holds
(mapping.encode); NULL (a NUL byte) stands for a field left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.stores.redis.mapping import NULL, Counter, Layout, SetIndex, SortedIndex, Structure, index_key
from sandbox.workload.expr import Expr

PRELUDE = r"""
local P = ARGV[1]
local S = '\31'
local function units(t, scale)
  local neg, w, f = string.match(t, '^(-?)(%d*)%.?(%d*)$')
  f = (f .. string.rep('0', scale)):sub(1, scale)
  local n = tonumber(w .. f)
  if neg == '-' then return -n end
  return n
end
local function bucket(t, every)
  return string.format('%.0f', math.floor(tonumber(t) / every) * every)
end
local function row(key, fields)
  local got, r = redis.call('HMGET', key, unpack(fields)), {}
  for i, f in ipairs(fields) do if got[i] then r[f] = got[i] end end
  return r
end
"""


def _lua_str(text: str) -> str:
    # Lua strings are bytes: anything but plain ASCII goes as decimal escapes of its UTF-8 bytes
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:=|/"
    return "'" + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in text.encode()) + "'"


def _key_expr(layout: Layout, s: Structure) -> str:
    """A Lua expression for the structure's key from the row `r` (its where values)."""
    template = index_key("\0", layout, s, tuple("\1" for _ in s.where))
    parts = template.split("\1")
    out = ["P", _lua_str(parts[0][1:])]
    for f, part in zip(s.where, parts[1:], strict=True):
        out += [f"r[{_lua_str(f)}]", _lua_str(part)] if part else [f"r[{_lua_str(f)}]"]
    return " .. ".join(x for x in out if x != "''")


def _guard(fields: Iterable[str]) -> str:
    names = list(dict.fromkeys(fields))
    if not names:
        return ""
    return "  if " + " or ".join(f"r[{_lua_str(f)}] == nil" for f in names) + " then return end\n"


def _structure(i: int, layout: Layout, s: Structure) -> str:
    """`local function x<i>(r, d)`: add (d = 1) or take away (d = -1) the row's entry of one structure."""
    me = f"r[{_lua_str(layout.key)}]"
    body = f"local function x{i}(r, d)\n"
    if isinstance(s, SetIndex):
        body += _guard(s.where)
        body += (f"  if d > 0 then redis.call('SADD', {_key_expr(layout, s)}, {me}) "
                 f"else redis.call('SREM', {_key_expr(layout, s)}, {me}) end\n")
    elif isinstance(s, SortedIndex):
        body += _guard(s.where + ((s.score,) if s.score else ()))
        score = f"r[{_lua_str(s.score)}]" if s.score else "0"
        body += (f"  if d > 0 then redis.call('ZADD', {_key_expr(layout, s)}, {score}, {me}) "
                 f"else redis.call('ZREM', {_key_expr(layout, s)}, {me}) end\n")
    else:
        body += _counter(layout, s)
    return body + "end\n"


def _counter(layout: Layout, c: Counter) -> str:
    body = _guard(c.where + ((c.bucket.field,) if c.bucket else ()))
    group = [f"bucket(r[{_lua_str(c.bucket.field)}], {c.bucket.every_ms})"] if c.bucket else []
    group += [f"(r[{_lua_str(f)}] or {_lua_str(NULL)})" for f in c.group_by]
    body += f"  local k, g = {_key_expr(layout, c)}, {' .. S .. '.join(group) or _lua_str('')}\n"
    body += "  redis.call('HINCRBY', k, 'n|' .. g, d)\n"
    for f in c.sums:
        col = layout.column(f)
        assert col is not None, f
        v, field = f"r[{_lua_str(f)}]", f"{_lua_str('s.' + f + '|')} .. g"
        if col.kind == "decimal":
            add = f"redis.call('HINCRBY', k, {field}, d * units({v}, {col.scale}))"
        elif col.kind == "float":
            add = f"redis.call('HINCRBYFLOAT', k, {field}, d * tonumber({v}))"
        else:
            add = f"redis.call('HINCRBY', k, {field}, d * tonumber({v}))"
        body += f"  if {v} then {add} end\n"
    return body


def _structures(layout: Layout, only: Iterable[Structure] | None = None) -> tuple[str, list[int]]:
    chosen = set(only) if only is not None else set(layout.structures)
    picked = [i for i, s in enumerate(layout.structures) if s in chosen]
    return "".join(_structure(i, layout, layout.structures[i]) for i in picked), picked


def _calls(picked: list[int], r: str, d: int) -> str:
    return "".join(f"x{i}({r}, {d})\n" for i in picked)


def _fields(layout: Layout) -> list[str]:
    return [c.name for c in layout.columns] + [c.name for c in layout.collections]


def _table(names: Iterable[str]) -> str:
    return "{" + ", ".join(_lua_str(n) for n in names) + "}"


def _reads(layout: Layout, structures: Iterable[Structure], *more: str) -> list[str]:
    return list(dict.fromkeys([layout.key, layout.version, *more, *(f for s in structures for f in s.reads)]))


_NEW_ROW = """local F = {fields}
local r, h = {{}}, {{}}
for i = 1, #F do
  local v = ARGV[i + {offset}]
  if v ~= {null} then r[F[i]] = v; h[#h + 1] = F[i]; h[#h + 1] = v end
end
"""


def write_script(layout: Layout, once: bool = False) -> str:
    """KEYS[1]: the hash (KEYS[2..]: the structures' keys, declared for a cluster's checks; the script builds
    them from the prefix); ARGV: prefix, then the values of mapping's columns and collections, in order.
    once: nothing is done (0) when the hash exists already, so a client's retry of an applied write is harmless."""
    defs, picked = _structures(layout)
    guard = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n" if once else ""
    return (PRELUDE + defs + guard + _NEW_ROW.format(fields=_table(_fields(layout)), offset=1, null=_lua_str(NULL))
            + "redis.call('HSET', KEYS[1], unpack(h))\n" + _calls(picked, "r", 1) + "return 1\n")


def upsert_script(layout: Layout) -> str:
    """KEYS[1]: the hash; ARGV: prefix, version, the values. Applied (1) only over an older version or none; the
    older instance leaves its index entries and counters first."""
    defs, picked = _structures(layout)
    need = _reads(layout, layout.structures)
    v = _lua_str(layout.version)
    return (PRELUDE + defs + f"local old = row(KEYS[1], {_table(need)})\n"
            f"if old[{_lua_str(layout.key)}] then\n"
            f"  if tonumber(old[{v}] or '0') >= tonumber(ARGV[2]) then return 0 end\n"
            + "".join(f"  x{i}(old, -1)\n" for i in picked)
            + "  redis.call('DEL', KEYS[1])\nend\n"
            + _NEW_ROW.format(fields=_table(_fields(layout)), offset=2, null=_lua_str(NULL))
            + f"r[{v}] = ARGV[2]\nh[#h + 1] = {v}; h[#h + 1] = ARGV[2]\n"
            + "redis.call('HSET', KEYS[1], unpack(h))\n" + _calls(picked, "r", 1) + "return 1\n")


def _touching(layout: Layout, *fields: str) -> list[Structure]:
    return [s for s in layout.structures if set(s.reads) & set(fields)]


def transition_script(layout: Layout, field: str, sources: tuple[str, ...]) -> str:
    """KEYS[1]: the hash; ARGV: prefix, state, version. Applied (1) only over an older version (and, with
    `from`, from one of its states); the instance moves between the index entries and counters of its field."""
    moved = _touching(layout, field, layout.version)
    defs, picked = _structures(layout, moved)
    need = _reads(layout, moved, field)
    f, v = _lua_str(field), _lua_str(layout.version)
    gate = f"local SRC = {{{', '.join(f'[{_lua_str(s)}] = true' for s in sources)}}}\n" \
           f"if not SRC[old[{f}]] then return 0 end\n" if sources else ""
    return (PRELUDE + defs + f"local old = row(KEYS[1], {_table(need)})\n"
            f"if not old[{_lua_str(layout.key)}] then return 0 end\n"
            f"if tonumber(old[{v}] or '0') >= tonumber(ARGV[3]) then return 0 end\n" + gate
            + "local r = {}\nfor k, x in pairs(old) do r[k] = x end\n"
            f"r[{f}] = ARGV[2]; r[{v}] = ARGV[3]\n"
            + _calls(picked, "old", -1) + _calls(picked, "r", 1)
            + f"redis.call('HSET', KEYS[1], {f}, ARGV[2], {v}, ARGV[3])\nreturn 1\n")


def decrement_script(layout: Layout, field: str, floor: int) -> str:
    """KEYS: the targets' hashes; ARGV: prefix, then an amount per target. All or none (1 / 0): every target
    must exist and stay at or above the floor."""
    moved = _touching(layout, field)
    defs, picked = _structures(layout, moved)
    f = _lua_str(field)
    step = f"  redis.call('HINCRBY', KEYS[i], {f}, -tonumber(ARGV[i + 1]))\n"
    if picked:
        need = _table(_reads(layout, moved, field))
        step = (f"  local old = row(KEYS[i], {need})\n" + "".join(f"  x{i}(old, -1)\n" for i in picked)
                + f"  old[{f}] = tostring(redis.call('HINCRBY', KEYS[i], {f}, -tonumber(ARGV[i + 1])))\n"
                + "".join(f"  x{i}(old, 1)\n" for i in picked))
    return (PRELUDE + defs + "for i = 1, #KEYS do\n"
            f"  local v = redis.call('HGET', KEYS[i], {f})\n"
            f"  if not v or tonumber(v) - tonumber(ARGV[i + 1]) < {int(floor)} then return 0 end\nend\n"
            "for i = 1, #KEYS do\n" + step + "end\nreturn 1\n")


def increment_script(layout: Layout, field: str) -> str:
    """KEYS[1]: the hash; ARGV: prefix, amount. The new value, or nil when there is no such instance (HINCRBY
    alone would make one)."""
    moved = _touching(layout, field)
    defs, picked = _structures(layout, moved)
    f = _lua_str(field)
    need = _table(_reads(layout, moved, field))
    return (PRELUDE + defs + f"local old = row(KEYS[1], {need})\n"
            f"if not old[{_lua_str(layout.key)}] then return false end\n" + _calls(picked, "old", -1)
            + f"local n = redis.call('HINCRBY', KEYS[1], {f}, ARGV[2])\nold[{f}] = tostring(n)\n"
            + _calls(picked, "old", 1) + "return n\n")


RANGE_ARGS = "local HP, lo, hi, limit, desc = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6] == '1'\n"
RANGE = r"""
local CH = %(chunk)d
local found = {}
for _, k in ipairs(KEYS) do
  local off, taken = 0, 0
  while taken < limit do
    local page
    if desc then page = redis.call('ZRANGE', k, hi, lo, 'BYSCORE', 'REV', 'LIMIT', off, CH, 'WITHSCORES')
    else page = redis.call('ZRANGE', k, lo, hi, 'BYSCORE', 'LIMIT', off, CH, 'WITHSCORES') end
    for i = 1, #page, 2 do
      if taken < limit and keep(page[i]) then
        found[#found + 1] = {page[i], tonumber(page[i + 1])}
        taken = taken + 1
      end
    end
    if #page < 2 * CH then break end
    off = off + CH
  end
end
if #KEYS > 1 then
  table.sort(found, function(a, b)
    if a[2] ~= b[2] then if desc then return a[2] > b[2] else return a[2] < b[2] end end
    if desc then return a[1] > b[1] else return a[1] < b[1] end
  end)
end
local out = {}
for i = 1, math.min(limit, #found) do out[i] = found[i][1] end
return out
"""


def range_script(layout: Layout, filter: Expr | None) -> str:
    """KEYS: sorted sets (several for `within`: merged); ARGV: prefix, hash key prefix, low, high, limit, 1 for
    descending. The first `limit` members of the window whose hash passes the filter (evaluated here, on the
    server), each set walked in order until it gave `limit`; several sets are merged by (score, key)."""
    if filter is None:
        keep = "local function keep(m) return true end\n"
        chunk = 1000
    else:
        names = sorted(filter.names)
        reads = "".join(f"  local v_{n} = {_typed(layout, n, f'v[{i + 1}]')}\n" for i, n in enumerate(names))
        keep = (f"local NEED = {_table(names)}\nlocal function keep(m)\n"
                "  local v = redis.call('HMGET', HP .. m, unpack(NEED))\n" + reads
                + f"  local ok, yes = pcall(function() return {to_lua(filter.tree)} end)\n"
                "  return ok and yes\nend\n")
        chunk = 256
    return PRELUDE + RANGE_ARGS + LUA_ROUND + keep + RANGE % {"chunk": chunk}


def _typed(layout: Layout, name: str, raw: str) -> str:
    col = layout.column(name)
    kind = col.kind if col else "text"
    if kind in ("int", "decimal", "float", "timestamp"):
        return f"{raw} and tonumber({raw})"
    if kind == "bool":
        return f"{raw} and {raw} == '1'"
    return f"{raw} or nil"


LUA_ROUND = """local function round(x, n)
  local m = 10 ^ n
  if x < 0 then return -math.floor(-x * m + 0.5) / m end
  return math.floor(x * m + 0.5) / m
end
"""

_OPS = {"==": "==", "!=": "~=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "+": "+", "-": "-", "*": "*", "/": "/"}


class NotLua(ValueError):
    """An expression a script over one hash cannot evaluate (it reads children or the owner)."""


def to_lua(t: tuple) -> str:
    """An expression tree (expr.py) as Lua over locals v_<field>."""
    kind = t[0]
    if kind == "lit":
        v = t[1]
        if v is None:
            return "nil"
        if isinstance(v, bool):
            return "true" if v else "false"
        return _lua_str(v) if isinstance(v, str) else str(v)
    if kind == "name":
        return f"v_{t[1]}"
    if kind == "neg":
        return f"(-{to_lua(t[1])})"
    if kind == "not":
        return f"(not {to_lua(t[1])})"
    if kind in ("bin", "cmp"):
        return f"({to_lua(t[2])} {_OPS[t[1]]} {to_lua(t[3])})"
    if kind == "bool":
        return "(" + f" {t[1]} ".join(to_lua(x) for x in t[2]) + ")"
    if kind == "if":
        return f"(function() if {to_lua(t[1])} then return {to_lua(t[2])} else return {to_lua(t[3])} end end)()"
    if kind == "round":
        return f"round({to_lua(t[1])}, {t[2]})"
    if kind == "abs":
        return f"math.abs({to_lua(t[1])})"
    raise NotLua(kind)
