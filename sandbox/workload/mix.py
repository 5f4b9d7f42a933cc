"""Which mix of a model a step runs: a [mix.NAME] of the model file, or pattern shares given for this run.

`-p mix=ycsb-a` names a mix of the model; `-p mix=get_order=90,update_status=10` (or a TOML table in a
scenario, `mix = { get_order = 90, update_status = 10 }`) gives shares of the model's patterns, normalised.
`distribution` optionally replaces every pattern's own key distribution for the run.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from typing import Any

from sandbox.errors import UsageError
from sandbox.workload.distributions import KeyDistribution
from sandbox.workload.pattern_file import mix_problem
from sandbox.workload.schema import Mix, Model


def parse_proportions(mix: str | Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """`{a = 50, b = 50}` (a TOML table) or "a=50,b=50" (a command line) -> shares of 1."""
    if isinstance(mix, str):
        pairs: list[tuple[str, Any]] = []
        for part in filter(None, (p.strip() for p in mix.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise UsageError(f"mix {mix!r}: expected a mix name or pattern=share pairs, e.g. "
                                 "\"get_order=95,update_status=5\"")
            pairs.append((name.strip(), value.strip()))
    elif isinstance(mix, Mapping):
        pairs = list(mix.items())
    else:
        raise UsageError(f"mix must be a mix name, a table or \"pattern=share,...\" text, got {mix!r}")
    shares: list[tuple[str, float]] = []
    for name, value in pairs:
        try:
            share = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"mix: share of {name!r} must be a number, got {value!r}") from None
        if not (math.isfinite(share) and share >= 0):
            raise UsageError(f"mix: share of {name!r} must be zero or positive, got {value!r}")
        shares.append((name, share))
    total = sum(s for _, s in shares)
    if total <= 0:
        raise UsageError(f"mix {mix!r}: the shares add up to nothing; give at least one positive share")
    return tuple((name, share / total) for name, share in shares)


def resolve_mix(model: Model, mix: Any) -> Mix:
    """The model's mix named `mix` (None: its first), or one made of pattern shares; one line when it is neither."""
    choose = f"choose with -p mix=NAME from {', '.join(model.mixes) or 'none (add a [mix.NAME] to the model)'}"
    if mix is None:
        if not model.mixes:
            raise UsageError(f"model {model.name} has no [mix.NAME]: add one to {model.path}, or give pattern shares "
                             "with -p mix=pattern=share,...")
        return next(iter(model.mixes.values()))
    if isinstance(mix, str) and mix.lstrip().startswith("{"):  # `-p mix={a=95,b=5}` arrives as text
        try:
            mix = tomllib.loads(f"v = {mix}")["v"]
        except tomllib.TOMLDecodeError:
            raise UsageError(f"mix {mix!r}: not a valid TOML table; e.g. {{get_order = 95, update_status = 5}}") \
                from None
    if isinstance(mix, str) and "=" not in mix:
        if mix.strip() not in model.mixes:
            raise UsageError(f"model {model.name} has no mix {mix!r}: {choose}, or give pattern shares "
                             "(-p mix=pattern=share,...)")
        return model.mixes[mix.strip()]
    weights = parse_proportions(mix)
    for name, _ in weights:
        pattern = model.patterns.get(name)
        if pattern is None:
            raise UsageError(f"mix: model {model.name} has no pattern {name!r}; patterns: {', '.join(model.patterns)}")
    made = Mix("(given)", weights, 0)
    if problem := mix_problem(made, model.patterns):
        raise UsageError(problem)
    return made


def key_distribution(distribution: str | None, skew: float = 0.99, hot_fraction: float = 0.2,
                     hot_share: float = 0.8) -> KeyDistribution | None:
    """One distribution for every pattern of the mix (validated), or None: each pattern keeps its own."""
    if distribution is None:
        return None
    return KeyDistribution(str(distribution), float(skew), float(hot_fraction), float(hot_share)).validated()


def inserts(model: Model, mix: Mix) -> list[str]:
    """The patterns of the mix that add roots (a data-set size would not stay fixed)."""
    return [name for name, share in mix.weights if share > 0 and model.patterns[name].kind == "insert"]
