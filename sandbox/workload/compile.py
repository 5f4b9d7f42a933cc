"""An entity's generation compiled to one Python function, as dataclasses compile __init__.

The generic path (a closure per member, a call per step) cost about twice the hand-written order
generator; generated source inlines the common draws (a bounded integer, a choice, a weighted choice, a
reference, a copy, an expression) with their constants, and calls the catalogue's draw function for the
rest. The draws and their order are exactly those of dataset.py's docstring: only the cost differs.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any, Protocol

from sandbox.workload import gens
from sandbox.workload.expr import python_source
from sandbox.workload.schema import Children, Entity, Field, FieldType, Model

Make = Callable[..., dict[str, Any]]


class Dataset(Protocol):
    """What compiling reads of a dataset (dataset.py's Dataset): sizes, reference data, other plans."""

    model: Model
    seed: int

    @property
    def reference(self) -> dict[str, list[dict[str, Any]]]: ...
    def count_of(self, entity: str) -> int: ...
    def instance_of(self, entity: str, index: int) -> dict[str, Any]: ...
    def plan(self, entity: str) -> Make: ...


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
    src.names.update({"_below": gens.below, "_uuid": gens.new_uuid, "_bisect": bisect, "D": Decimal, "_ds": ds,
                      "_HALF_UP": ROUND_HALF_UP, "_sum": _sum, "_count": len, "_min": min, "_max": max, "_abs": abs,
                      "_round": _round, "_q": _q, "_sample": gens.sample})
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
        _reference(f, e, ds, src)
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
        chosen = src.const(tuple(params.get("values") or t.values), "vals")
        v = src.var()
        src.below(v, len(params.get("values") or t.values))
        src.emit(f"inst[{name}] = {chosen}[{v}]")
    elif gen == "weighted":
        weights = params["weights"]
        values = list(weights) if isinstance(weights, dict) else list(params.get("values") or t.values)
        shares = list(weights.values()) if isinstance(weights, dict) else list(weights)
        cum = src.const(list(accumulate(shares)), "cum")
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
        td = src.const(timedelta, "td")
        v = src.var()
        src.below(v, int(params["jitter_ms"]))
        src.emit(f"inst[{name}] = {start} + {td}(0, 0, 0, i * {int(params.get('spacing_ms', 10))} + {v})")
    else:
        fn = src.const(gens.build(f.gen, t, ds.seed), "draw")
        src.emit(f"inst[{name}] = {fn}(rng, i, pos, inst)")


def index_key(e: Entity, seed: int) -> Callable[[int], Any] | None:
    """key_of(index) for an entity whose key is made from its index alone (a sequence or a template over
    index and seed): its instances can be referenced before they are made (users following users)."""
    f = e.field(e.key)
    if f is None or f.gen is None:
        return None
    if f.gen.name == "sequence":
        draw = gens.build(f.gen, f.type, seed)
        return lambda j: draw(None, j, j, {})  # type: ignore[arg-type]
    if f.gen.name == "template":
        text = str(f.gen.params.get("template", ""))
        if set(gens.template_names(text)) <= {"index", "seed"}:
            return lambda j: text.format(index=j, seed=seed)
    return None


def _copied_from(e: Entity, ref: str) -> bool:
    return any(f.copy and f.copy[0] == ref for f in e.fields)


def _pick(f: Field, ds: Dataset, src: _Source, target_var: str, indent: int) -> None:
    """target_var = the index of the instance f references (its pick among the target's count)."""
    assert f.ref is not None
    n = ds.count_of(f.ref)
    if f.pick.name == "zipfian":
        zipf = src.const(gens.Zipfian(f.pick.skew), "zipf")
        src.emit(f"{target_var} = {zipf}.rank(rng, {n})", indent)
    else:
        src.below(target_var, n, indent)


def _reference(f: Field, e: Entity, ds: Dataset, src: _Source) -> None:
    name, target = repr(f.name), f.ref
    assert target is not None
    key = repr(ds.model.entity(target).key)
    by_index = index_key(ds.model.entity(target), ds.seed)
    need_instance = by_index is None or _copied_from(e, f.name)
    keyfn = src.const(by_index, "key") if by_index is not None else None
    j = src.var()
    src.emit(f"if {name} not in inst:")
    indent = 2
    if f.pick.name == "earlier":
        every = f.pick.null_every
        cond = "i == 0" + (f" or i % {every} == 0" if every else "")
        src.emit(f"if {cond}: inst[{name}] = None", 2)
        src.emit("else:", 2)
        src.emit(f"{j} = _below(rng, i)", 3)
        indent = 3
    else:
        _pick(f, ds, src, j, 2)
    if need_instance:
        src.emit(f"o = {_instance(ds, src, e, target, j)}", indent)
        src.emit(f"tg[{name}] = o; inst[{name}] = o[{key}]", indent)
    else:
        src.emit(f"inst[{name}] = {keyfn}({j})", indent)


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
    size = ds.count_of(distinct.ref)
    src.emit(f"{n} = min({n}, {size})")
    if distinct.pick.name == "uniform":
        src.emit(f"picks = _sample(rng, {size}, {n})")
    else:  # a skewed pick, drawn again on a repeat
        k = src.var()
        src.emit("picks = []")
        src.emit(f"while len(picks) < {n}:")
        _pick(distinct, ds, src, k, 2)
        src.emit(f"if {k} not in picks: picks.append({k})", 2)
    by_index = index_key(ds.model.entity(distinct.ref), ds.seed)
    d = repr(c.distinct)
    if by_index is not None and not _copied_from(child, c.distinct):
        keyfn = src.const(by_index, "key")
        src.emit(f"inst[{c.name!r}] = [{make}(rng, j, j, inst, {{{d}: {keyfn}(k)}}) for j, k in enumerate(picks)]")
        return
    key = ds.model.entity(distinct.ref).key
    o = _instance(ds, src, e, distinct.ref, "k")
    src.emit(f"inst[{c.name!r}] = [{make}(rng, j, j, inst, {{{d}: o[{key!r}]}}, {{{d}: o}}) "
             f"for j, o in ((j, {o}) for j, k in enumerate(picks))]")


def _instance(ds: Dataset, src: _Source, e: Entity, target: str, index: str) -> str:
    """Source for instance `index` of target: a held list when it is complete (another reference entity
    made before this one), else made or looked up on demand."""
    if ds.model.entity(target).role == "reference" and target != e.name and e.role != "child":
        return f"{src.const(ds.reference[target], 'pool')}[{index}]"
    if ds.model.entity(target).role == "reference" and e.role == "child":
        owner = ds.model.owner_of(e.name)
        if owner is not None and owner[0].name != target:
            return f"{src.const(ds.reference[target], 'pool')}[{index}]"
    return f"_ds.instance_of({target!r}, {index})"


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
