"""An entity's generation compiled to one Python function, as dataclasses compile __init__.

The generic path (a closure per member, a call per step) cost about twice the hand-written order
generator; generated source inlines the common draws (a bounded integer, a choice, a weighted choice, a
reference, a copy, an expression) with their constants, and calls the catalogue's draw function for the
rest. The draws and their order are exactly those of dataset.py's docstring: only the cost differs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sandbox.workload import gens
from sandbox.workload.expr import python_source
from sandbox.workload.schema import Children, Entity, Field, FieldType

if TYPE_CHECKING:
    from sandbox.workload.dataset import Dataset

Make = Callable[..., dict[str, Any]]


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {}
        self.temp = 0

    def const(self, value: Any, hint: str = "k") -> str:
        name = f"_{hint}{len(self.names)}"
        self.names[name] = value
        return name

    def var(self) -> str:
        self.temp += 1
        return f"v{self.temp}"

    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def below(self, target: str, n: int | str, indent: int = 1) -> None:
        """target = random below n, as random.Random._randbelow draws it."""
        if isinstance(n, int):
            k = n.bit_length()
            self.emit(f"{target} = bits({k})", indent)
            if n != 1 << k:  # not a power of two above: some draws must be retried
                self.emit(f"while {target} >= {n}: {target} = bits({k})", indent)
        else:
            self.emit(f"{target} = _below(rng, {n})", indent)


def compile_entity(e: Entity, ds: Dataset) -> Make:
    """make(rng, i, pos, parent, preset, target) -> instance; preset/target: a child's distinct reference."""
    src = _Source()
    src.names.update({"_below": gens.below, "_uuid": gens.new_uuid, "_bisect": __import__("bisect").bisect,
                      "D": Decimal, "_ds": ds, "_HALF_UP": ROUND_HALF_UP, "_sum": _sum,
                      "_count": len, "_min": min, "_max": max, "_abs": abs, "_round": _round, "_q": _q, "_sample": gens.sample})
    src.emit("bits = rng.getrandbits")
    src.emit("inst = {} if preset is None else preset")  # the caller's fresh dicts
    src.emit("tg = {} if target is None else target")
    for m in e.members:
        if isinstance(m, Children):
            _children(m, e, ds, src)
        elif m.derive is None:
            _field(m, e, ds, src)
    for c in e.children:
        link = ds.model.entity(c.entity).parent_key
        assert link is not None
        src.emit(f"for c in inst[{c.name!r}]: c[{link.name!r}] = inst[{e.key!r}]")
    for f in e.fields:
        if f.derive is not None:
            src.emit(f"inst[{f.name!r}] = {_cast(f, src, python_source(f.derive.tree, 'inst'))}")
    for f in e.fields:
        if f.hidden:
            src.emit(f"del inst[{f.name!r}]")
    src.emit("return inst")
    body = "\n".join(src.lines)
    code = f"def make(rng, i, pos, p, preset=None, target=None):\n{body}\n"
    namespace = dict(src.names)
    exec(compile(code, f"<generate {e.name}>", "exec"), namespace)
    make: Make = namespace["make"]
    make.source = code  # type: ignore[attr-defined]  # for tests and `sandbox model show --source`
    return make


def _cast(f: Field, src: _Source, expr: str) -> str:
    if f.type.kind == "decimal":
        unit = src.const(Decimal(1).scaleb(-f.type.scale), "unit")
        if f.derive is not None and not f.nullable:  # an expression over decimals is a Decimal
            return f"({expr}).quantize({unit}, _HALF_UP)"
        return f"_q({expr}, {unit})"
    if f.type.kind == "int":
        return f"int({expr})"
    if f.type.kind == "float":
        return f"float({expr})"
    return expr


def _field(f: Field, e: Entity, ds: Dataset, src: _Source) -> None:
    name = repr(f.name)
    if f.parent_key:
        src.emit(f"inst[{name}] = None")  # set by the owner once its key is drawn
        return
    if f.ref is not None:
        _reference(f, ds, src)
        return
    if f.copy:
        path = f.copy
        if path[0] == "parent":
            src.emit(f"inst[{name}] = p[{path[1]!r}]")
            return
        expr = f"tg[{path[0]!r}]" + "".join(f"[{int(x)}]" if x.isdigit() else f"[{x!r}]" for x in path[1:])
        src.emit(f"inst[{name}] = {expr}")
        return
    assert f.gen is not None
    gen, params, t = f.gen.name, f.gen.params, f.type
    if gen == "uuid":
        src.emit(f"inst[{name}] = _uuid(rng)")
    elif gen == "uniform" and t.kind == "int":
        lo, hi = int(params["min"]), int(params["max"])
        v = src.var()
        src.below(v, hi - lo + 1)
        src.emit(f"inst[{name}] = {lo} + {v}")
    elif gen == "uniform" and t.kind == "decimal":
        lo = int(Decimal(str(params["min"])).scaleb(t.scale))
        hi = int(Decimal(str(params["max"])).scaleb(t.scale))
        v = src.var()
        src.below(v, hi - lo + 1)
        src.emit(f"inst[{name}] = D({lo} + {v}).scaleb({-t.scale})")
    elif gen in ("choice",) and isinstance(params.get("values", t.values or None), list | tuple):
        values = src.const(tuple(params.get("values") or t.values), "vals")
        v = src.var()
        src.below(v, len(params.get("values") or t.values))
        src.emit(f"inst[{name}] = {values}[{v}]")
    elif gen == "weighted":
        weights = params["weights"]
        values = list(weights) if isinstance(weights, dict) else list(params.get("values") or t.values)
        shares = list(weights.values()) if isinstance(weights, dict) else list(weights)
        cum = src.const(list(__import__("itertools").accumulate(shares)), "cum")
        vals = src.const(tuple(values), "vals")
        total = float(sum(shares))  # what random.choices multiplies random() by
        src.emit(f"inst[{name}] = {vals}[_bisect({cum}, rng.random() * {total!r}, 0, {len(values) - 1})]")
    elif gen == "constant" and t.kind in ("int", "bool", "keyword", "text", "enum", "id"):
        src.emit(f"inst[{name}] = {params['value']!r}")
    elif gen == "template":
        text = str(params["template"])
        used = [n for n in dict.fromkeys(gens.template_names(text)) if n not in ("index", "seed", "position")]
        args = ", ".join([f"index=i, seed={ds.seed}, position=pos", *(f"{n}=inst[{n!r}]" for n in used)])
        src.emit(f"inst[{name}] = {text!r}.format({args})")
    elif gen == "spaced" and params.get("jitter_ms"):
        start = src.const(gens.parse_time(params.get("start", "2026-01-01T00:00:00Z"), "start"), "t0")
        td = src.const(__import__("datetime").timedelta, "td")
        v = src.var()
        src.below(v, int(params["jitter_ms"]))
        src.emit(f"inst[{name}] = {start} + {td}(0, 0, 0, i * {int(params.get('spacing_ms', 10))} + {v})")
    else:
        fn = src.const(gens.build(f.gen, t, ds.seed), "draw")
        src.emit(f"inst[{name}] = {fn}(rng, i, pos, inst)")


def _reference(f: Field, ds: Dataset, src: _Source) -> None:
    name, target = repr(f.name), f.ref
    assert target is not None
    key = repr(ds.model.entity(target).key)
    src.emit(f"if {name} not in inst:")
    if f.pick.name == "earlier":
        every = f.pick.null_every
        cond = "i == 0" + (f" or i % {every} == 0" if every else "")
        src.emit(f"if {cond}: inst[{name}] = None", 2)
        src.emit("else:", 2)
        src.emit(f"o = _ds.instance_of({target!r}, _below(rng, i))", 3)
        src.emit(f"tg[{name}] = o; inst[{name}] = o[{key}]", 3)
        return
    if f.pick.name == "zipfian":
        zipf = src.const(gens.Zipfian(f.pick.skew), "zipf")
        src.emit(f"o = _ds.instance_of({target!r}, {zipf}.rank(rng, _ds.count_of({target!r})))", 2)
    elif ds.model.entity(target).role == "reference":
        pool = src.const(ds.reference[target], "pool")
        v = src.var()
        src.below(v, len(ds.reference[target]), 2)
        src.emit(f"o = {pool}[{v}]", 2)
    else:
        src.emit(f"o = _ds.instance_of({target!r}, _below(rng, _ds.count_of({target!r})))", 2)
    src.emit(f"tg[{name}] = o; inst[{name}] = o[{key}]", 2)


def _children(c: Children, e: Entity, ds: Dataset, src: _Source) -> None:
    child = ds.model.entity(c.entity)
    make = src.const(ds.plan(c.entity), "child")  # owned relations have no cycle: compiled first
    n = src.var()
    if c.count.name == "constant":
        src.emit(f"{n} = {int(c.count.params['value'])}")
    elif c.count.name == "uniform":
        lo, hi = int(c.count.params["min"]), int(c.count.params["max"])
        src.below(n, hi - lo + 1)
        src.emit(f"{n} = {lo} + {n}")
    else:
        fn = src.const(gens.build(c.count, FieldType("int"), ds.seed), "count")
        src.emit(f"{n} = max(0, {fn}(rng, i, pos, inst))")
    if c.distinct is None:
        src.emit(f"inst[{c.name!r}] = [{make}(rng, j, j, inst) for j in range({n})]")
        return
    distinct = child.field(c.distinct)
    assert distinct is not None and distinct.ref is not None
    pool = src.const(ds.reference[distinct.ref], "pool")
    key = ds.model.entity(distinct.ref).key
    size = len(ds.reference[distinct.ref])
    src.emit(f"picks = _sample(rng, {size}, min({n}, {size}))")
    src.emit(f"inst[{c.name!r}] = [{make}(rng, j, j, inst, {{{c.distinct!r}: {pool}[k][{key!r}]}}, "
             f"{{{c.distinct!r}: {pool}[k]}}) for j, k in enumerate(picks)]")


def _sum(values: list) -> Any:
    total: Any = 0
    for v in values:
        total = total + v
    return total


def _round(value: Any, places: int) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return round(value, places)


def _q(value: Any, unit: Decimal) -> Any:
    return value if value is None else Decimal(value).quantize(unit, rounding=ROUND_HALF_UP)
