"""The catalogue of field generators: a small set of named distributions with explicit parameters.

Each entry checks its parameters against the field's type (impossible ones raise GenError with the fix)
and returns a draw function `draw(rng, index, position, instance) -> value`. Draws use random.Random's own
primitives (getrandbits below n, random(), sample) in the way random.randint / choice / choices do, so a
model describing the hand-written order generator reproduces its orders exactly (tests/golden/).
"""

from __future__ import annotations

import math
import random
import string
from bisect import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import accumulate
from typing import Any

from sandbox.workload.distributions import Zipfian
from sandbox.workload.schema import FieldType, Gen

Draw = Callable[[random.Random, int, int, Mapping[str, Any]], Any]
_UUID_VERSION_MASK = (0xC000 << 48) | (0xF000 << 64)  # where uuid.UUID(version=4) writes variant and version
_UUID_VERSION_4 = (0x8000 << 48) | (4 << 76)
WORDS = ("amber", "basil", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper", "kelp",
         "lumen", "maple", "nectar", "onyx", "pebble", "quartz", "river", "saffron", "tundra", "umber", "velvet",
         "willow", "xenon", "yarrow", "zephyr", "copper", "meadow", "canyon", "glacier", "lantern", "orchid",
         "prairie", "summit", "thistle", "bramble", "cobalt", "dune", "falcon", "garnet")


class GenError(ValueError):
    """A generator's parameters that cannot work, said with what to change."""


def below(rng: random.Random, n: int) -> int:
    """random.Random._randbelow: the same bits, the same value (randint, randrange and choice use it)."""
    k = n.bit_length()
    r = rng.getrandbits(k)
    while r >= n:
        r = rng.getrandbits(k)
    return r


def sample(rng: random.Random, n: int, k: int) -> list[int]:
    """random.Random.sample(range(n), k): its set-based branch (small k, n above 21) inlined, the same draws."""
    if k > 5 or n <= 21:  # the other branches of random.sample
        return rng.sample(range(n), k)
    bits = rng.getrandbits
    width = n.bit_length()
    chosen: list[int] = []
    for _ in range(k):
        j = bits(width)
        while j >= n or j in chosen:
            j = bits(width)
        chosen.append(j)
    return chosen


def new_uuid(rng: random.Random) -> str:
    """str(uuid.UUID(int=rng.getrandbits(128), version=4)), without the UUID object's cost."""
    h = (rng.getrandbits(128) & ~_UUID_VERSION_MASK | _UUID_VERSION_4).to_bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_time(text: Any, what: str) -> datetime:
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise GenError(f"{what}: expected an ISO time like 2026-01-01T00:00:00Z, got {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise GenError(f"{what}: expected a number, got {value!r}") from None


def _need(params: Mapping[str, Any], name: str, gen: str) -> Any:
    if name not in params:
        raise GenError(f"generator {gen} needs {name} = ...")
    return params[name]


def _number(t: FieldType, value: Any, what: str) -> Any:
    """A parameter in the field's own number type."""
    if t.kind == "decimal":
        return _decimal(value, what)
    if t.kind == "float":
        return float(_decimal(value, what))
    if isinstance(value, bool) or not isinstance(value, int):
        raise GenError(f"{what}: expected a whole number for a {t} field, got {value!r}")
    return value


def _cast(t: FieldType, what: str) -> Callable[[Any], Any]:
    """How a drawn number becomes a value of the field's type."""
    if t.kind == "decimal":
        unit = Decimal(1).scaleb(-t.scale)
        return lambda x: Decimal(str(x)).quantize(unit) if not isinstance(x, Decimal) else x.quantize(unit)
    if t.kind == "float":
        return float
    if t.kind == "int":
        return lambda x: round(x)
    if t.kind in ("keyword", "text", "id"):
        return lambda x: str(round(x))
    raise GenError(f"{what}: a numeric generator cannot make a {t} field")


def _uniform(t: FieldType, p: Mapping[str, Any]) -> Draw:
    lo, hi = _number(t, _need(p, "min", "uniform"), "uniform min"), _number(t, _need(p, "max", "uniform"), "max")
    if lo > hi:
        raise GenError(f"uniform: min {lo} is above max {hi}")
    if t.kind == "decimal":
        scale = t.scale
        a, span = int(lo.scaleb(scale)), int(hi.scaleb(scale)) - int(lo.scaleb(scale)) + 1
        return lambda rng, i, pos, inst: Decimal(a + below(rng, span)).scaleb(-scale)
    if t.kind == "float":
        return lambda rng, i, pos, inst: lo + (hi - lo) * rng.random()
    cast = _cast(t, "uniform")
    span = hi - lo + 1
    if t.kind == "int":
        return lambda rng, i, pos, inst: lo + below(rng, span)
    return lambda rng, i, pos, inst: cast(lo + below(rng, span))


def _clamped(t: FieldType, p: Mapping[str, Any], sample: Callable[[random.Random], float], gen: str) -> Draw:
    lo = _number(t, p["min"], f"{gen} min") if "min" in p else None
    hi = _number(t, p["max"], f"{gen} max") if "max" in p else None
    if lo is not None and hi is not None and lo > hi:
        raise GenError(f"{gen}: min {lo} is above max {hi}")
    cast = _cast(t, gen)
    flo = None if lo is None else float(lo)
    fhi = None if hi is None else float(hi)

    def draw(rng: random.Random, i: int, pos: int, inst: Mapping[str, Any]) -> Any:
        x = sample(rng)
        if flo is not None and x < flo:
            x = flo
        if fhi is not None and x > fhi:
            x = fhi
        return cast(x)
    return draw


def _normal(t: FieldType, p: Mapping[str, Any]) -> Draw:
    mean, sd = float(_need(p, "mean", "normal")), float(_need(p, "stddev", "normal"))
    if not sd > 0 or not math.isfinite(sd):
        raise GenError(f"normal: stddev must be above 0, got {sd:g}")
    return _clamped(t, p, lambda rng: rng.normalvariate(mean, sd), "normal")


def _lognormal(t: FieldType, p: Mapping[str, Any]) -> Draw:
    median, sigma = float(_need(p, "median", "lognormal")), float(_need(p, "sigma", "lognormal"))
    if not median > 0:
        raise GenError(f"lognormal: median must be above 0, got {median:g}")
    if not sigma > 0 or not math.isfinite(sigma):
        raise GenError(f"lognormal: sigma (of the log) must be above 0, got {sigma:g}")
    mu = math.log(median)
    return _clamped(t, p, lambda rng: rng.lognormvariate(mu, sigma), "lognormal")


def _zipfian(t: FieldType, p: Mapping[str, Any]) -> Draw:
    if t.kind not in ("int", "keyword"):
        raise GenError(f"zipfian makes whole numbers: use it on an int field, not {t}")
    lo, hi = _number(FieldType("int"), _need(p, "min", "zipfian"), "zipfian min"), \
        _number(FieldType("int"), _need(p, "max", "zipfian"), "zipfian max")
    skew = float(p.get("skew", 0.99))
    if lo > hi:
        raise GenError(f"zipfian: min {lo} is above max {hi}")
    if not 0 < skew < 1:
        raise GenError(f"zipfian: skew must be above 0 and below 1, got {skew:g}")
    zipf, n = Zipfian(skew), hi - lo + 1
    if t.kind == "int":
        return lambda rng, i, pos, inst: lo + zipf.rank(rng, n)
    return lambda rng, i, pos, inst: str(lo + zipf.rank(rng, n))


def _values(t: FieldType, p: Mapping[str, Any], gen: str) -> list[Any]:
    values = p.get("values", list(t.values) if t.kind == "enum" else None)
    if not isinstance(values, list) or not values:
        raise GenError(f"{gen}: needs values = [...] (a non-empty list)")
    if t.kind == "enum" and (bad := [v for v in values if v not in t.values]):
        raise GenError(f"{gen}: {bad[0]!r} is not one of the enum's values ({', '.join(t.values)})")
    return values


def _choice(t: FieldType, p: Mapping[str, Any]) -> Draw:
    values = _values(t, p, "choice")
    n = len(values)
    return lambda rng, i, pos, inst: values[below(rng, n)]


def _weighted(t: FieldType, p: Mapping[str, Any]) -> Draw:
    weights = _need(p, "weights", "weighted")
    if isinstance(weights, Mapping):
        values, shares = list(weights), list(weights.values())
        _values(t, {"values": values}, "weighted")
    else:
        values, shares = _values(t, p, "weighted"), list(weights)
        if len(shares) != len(values):
            raise GenError(f"weighted: {len(values)} values but {len(shares)} weights")
    if any(not isinstance(w, int | float) or isinstance(w, bool) or w < 0 for w in shares) or sum(shares) <= 0:
        raise GenError("weighted: weights must be numbers >= 0 with a positive sum")
    cum = list(accumulate(shares))
    total, hi = cum[-1] + 0.0, len(values) - 1  # as random.choices computes them
    return lambda rng, i, pos, inst: values[bisect(cum, rng.random() * total, 0, hi)]


def _cycle(t: FieldType, p: Mapping[str, Any]) -> Draw:
    values = _values(t, p, "cycle")
    n = len(values)
    return lambda rng, i, pos, inst: values[i % n]


def _by_position(t: FieldType, p: Mapping[str, Any]) -> Draw:
    values = _values(t, p, "by_position")
    n = len(values)
    return lambda rng, i, pos, inst: values[pos % n]


def _constant(t: FieldType, p: Mapping[str, Any]) -> Draw:
    value = _need(p, "value", "constant")
    if t.kind in ("int", "decimal", "float"):
        value = _cast(t, "constant")(_number(t, value, "constant value"))
    elif t.kind == "enum" and value not in t.values:
        raise GenError(f"constant: {value!r} is not one of the enum's values ({', '.join(t.values)})")
    elif t.kind == "timestamp":
        value = parse_time(value, "constant value")
    return lambda rng, i, pos, inst: value


def _sequence(t: FieldType, p: Mapping[str, Any]) -> Draw:
    start, step = p.get("start", 0), p.get("step", 1)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, step)) or step == 0:
        raise GenError("sequence: start and step must be whole numbers, step not 0")
    if t.kind == "int":
        return lambda rng, i, pos, inst: start + i * step
    if t.kind in ("keyword", "text", "id"):
        return lambda rng, i, pos, inst: str(start + i * step)
    raise GenError(f"sequence makes whole numbers or their text, not {t}")


def template_names(template: str) -> list[str]:
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            if not name.isidentifier():
                raise GenError(f"template {template!r}: {{{name}}} must be a field name, index, seed or position")
            names.append(name)
    return names


def _template(t: FieldType, p: Mapping[str, Any], seed: int) -> Draw:
    text = _need(p, "template", "template")
    if not isinstance(text, str):
        raise GenError(f"template: expected text, got {text!r}")
    names = template_names(text)
    fmt = text.format

    def draw(rng: random.Random, i: int, pos: int, inst: Mapping[str, Any]) -> Any:
        values = {n: inst[n] for n in names if n in inst}
        return fmt(index=i, seed=seed, position=pos, **values)
    return draw


def _spaced(t: FieldType, p: Mapping[str, Any]) -> Draw:
    start = parse_time(p.get("start", "2026-01-01T00:00:00Z"), "spaced start")
    spacing, jitter = p.get("spacing_ms", 10), p.get("jitter_ms", 0)
    if not isinstance(spacing, int) or spacing < 1 or not isinstance(jitter, int) or not 0 <= jitter <= spacing:
        raise GenError(f"spaced: spacing_ms must be a whole number >= 1 and jitter_ms from 0 to spacing_ms, "
                       f"got {spacing!r} and {jitter!r}")
    if jitter == 0:
        return lambda rng, i, pos, inst: start + timedelta(milliseconds=i * spacing)
    return lambda rng, i, pos, inst: start + timedelta(0, 0, 0, i * spacing + below(rng, jitter))


def _window(t: FieldType, p: Mapping[str, Any]) -> Draw:
    start = parse_time(_need(p, "start", "window"), "window start")
    end = parse_time(_need(p, "end", "window"), "window end")
    span = int((end - start).total_seconds() * 1000)
    if span <= 0:
        raise GenError(f"window: end {end.isoformat()} is not after start {start.isoformat()}")
    return lambda rng, i, pos, inst: start + timedelta(milliseconds=below(rng, span))


def _words(t: FieldType, p: Mapping[str, Any]) -> Draw:
    lo, hi = p.get("min", 3), p.get("max", 8)
    vocabulary: Sequence[str] = p.get("vocabulary", WORDS)
    if not isinstance(lo, int) or not isinstance(hi, int) or not 1 <= lo <= hi:
        raise GenError(f"words: min and max must be whole numbers with 1 <= min <= max, got {lo!r}, {hi!r}")
    if not vocabulary or not all(isinstance(w, str) for w in vocabulary):
        raise GenError("words: vocabulary must be a non-empty list of words")
    n, span = len(vocabulary), hi - lo + 1
    return lambda rng, i, pos, inst: " ".join(vocabulary[below(rng, n)] for _ in range(lo + below(rng, span)))


def _chance(t: FieldType, p: Mapping[str, Any]) -> Draw:
    chance = float(p.get("chance", 0.5))
    if not 0 <= chance <= 1:
        raise GenError(f"bool: chance must be from 0 to 1, got {chance:g}")
    return lambda rng, i, pos, inst: rng.random() < chance


def _uuid(t: FieldType, p: Mapping[str, Any]) -> Draw:
    return lambda rng, i, pos, inst: new_uuid(rng)


# name -> (field kinds it makes, whether it draws random numbers, factory)
CATALOGUE: dict[str, tuple[tuple[str, ...], bool, Callable[..., Draw]]] = {
    "uuid": (("id", "keyword"), True, _uuid),
    "sequence": (("int", "keyword", "text", "id"), False, _sequence),
    "constant": (("id", "int", "decimal", "float", "text", "keyword", "timestamp", "bool", "enum"), False, _constant),
    "uniform": (("int", "decimal", "float", "keyword", "text"), True, _uniform),
    "normal": (("int", "decimal", "float"), True, _normal),
    "lognormal": (("int", "decimal", "float"), True, _lognormal),
    "zipfian": (("int", "keyword"), True, _zipfian),
    "choice": (("keyword", "text", "enum", "int", "id"), True, _choice),
    "weighted": (("keyword", "text", "enum", "int"), True, _weighted),
    "cycle": (("keyword", "text", "enum", "int"), False, _cycle),
    "by_position": (("keyword", "text", "enum", "int"), False, _by_position),
    "template": (("keyword", "text", "id"), False, _template),
    "words": (("text", "keyword"), True, _words),
    "spaced": (("timestamp",), True, _spaced),
    "window": (("timestamp",), True, _window),
    "bool": (("bool",), True, _chance),
}


def build(gen: Gen, t: FieldType, seed: int = 0) -> Draw:
    """The draw function of a catalogue entry for a field of type t (GenError: unknown or impossible)."""
    entry = CATALOGUE.get(gen.name)
    if entry is None:
        raise GenError(f"unknown generator {gen.name!r}: choose from {', '.join(CATALOGUE)}")
    kinds, _, factory = entry
    if t.kind not in kinds:
        raise GenError(f"generator {gen.name} cannot make a {t} field (it makes {', '.join(kinds)})")
    if gen.name == "template":
        return factory(t, gen.params, seed)
    return factory(t, gen.params)


def draws(gen: Gen) -> bool:
    entry = CATALOGUE.get(gen.name)
    return bool(entry and entry[1] and not (gen.name == "spaced" and not gen.params.get("jitter_ms")))


def is_numeric_count(gen: Gen) -> bool:
    return gen.name in ("constant", "uniform", "normal", "lognormal", "zipfian", "weighted", "choice")
