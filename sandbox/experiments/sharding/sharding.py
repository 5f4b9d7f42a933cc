"""The `sharding` step: how four placement schemes cope with one shard more or one fewer (no server needed).

It places the run's model's own keys (the orders model: order ids, customer ids; any model: its root's keys and
those of the reference entities its root references) with each scheme at N-1, N and N+1 shards,
counts the keys that move and the keys per shard, and the moved fraction growing N -> N+1 for a range
of N (the report plots it).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from sandbox.errors import UsageError
from sandbox.experiments.sharding.result import ShardingRuns
from sandbox.measure.placement import grow_and_shrink, moved_fraction_curve
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, whole_number, with_defaults
from sandbox.workload.sharding import KEY_KINDS, SCHEMES, key_digests, model_key_kinds, model_keys

MAX_KEYS = 10_000_000
MAX_SHARDS = 100_000
DEFAULT_CURVE = (2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)


async def sharding(ctx: RunContext, shards: int = 10, keys: int = 100_000, key_kinds: Any = None,
                   vnodes: int = 100, curve: Any = DEFAULT_CURVE) -> None:
    """N -> N+1 and N -> N-1 for md5-mod, ring, jump and rendezvous on the model's keys."""
    kinds = model_key_kinds(ctx.model)
    key_kinds = kinds if key_kinds is None else key_kinds
    _check(shards, keys, key_kinds, vnodes, curve, kinds)
    seed = ctx.params.seed or 0
    result: dict[str, Any] = {"shards": shards, "vnodes": vnodes, "keys": keys, "seed": seed,
                              "movements": [], "seconds": {}}
    bar = ctx.progress.bar("sharding", len(key_kinds) * len(SCHEMES) + 1)
    digests: dict[str, np.ndarray] = {}
    for kind in key_kinds:
        started = time.perf_counter()
        digests[kind] = key_digests(model_keys(ctx.model, kind, keys, seed))
        result["seconds"][f"generate {kind}"] = time.perf_counter() - started
        for scheme in SCHEMES:
            started = time.perf_counter()
            for m in grow_and_shrink(scheme, digests[kind], shards, vnodes):
                result["movements"].append({"key_kind": kind, **m.to_json()})
            result["seconds"][f"{scheme} {kind}"] = time.perf_counter() - started
            bar.advance()
    started = time.perf_counter()
    ns = sorted(set(curve))
    result["curve"] = {"key_kind": key_kinds[0], "n": ns, "ideal": [1 / (n + 1) for n in ns],
                       "moved_fraction": moved_fraction_curve(digests[key_kinds[0]], ns, vnodes)}
    result["seconds"]["curve"] = time.perf_counter() - started
    bar.advance()
    ctx.results.ensure(ShardingRuns).by_step["sharding"] = result


def _check(shards: Any, keys: Any, key_kinds: Any, vnodes: Any, curve: Any,
           kinds: tuple[str, ...] | None = None) -> None:
    """`kinds`: the model's key kinds (None: not known yet, before the model is loaded)."""
    whole_number("sharding", "shards", shards, 2, MAX_SHARDS)
    whole_number("sharding", "keys", keys, 1, MAX_KEYS)
    whole_number("sharding", "vnodes", vnodes, 1, 10_000)
    if not isinstance(curve, list | tuple) or not curve:
        raise UsageError(f"sharding: curve must be a list of shard counts, e.g. [2, 10, 100], got {curve!r}")
    for n in curve:
        whole_number("sharding", "each curve entry", n, 1, MAX_SHARDS)
    if key_kinds is None:
        return
    if not isinstance(key_kinds, list | tuple) or not key_kinds or (kinds is not None and set(key_kinds) - set(kinds)):
        raise UsageError(f"sharding: key_kinds must be a list drawn from {', '.join(kinds or KEY_KINDS)}, "
                         f"got {key_kinds!r}")


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(sharding, params)
    # The orders model's kinds are known here; another model's are checked once it is loaded.
    _check(**given, kinds=KEY_KINDS if run.model == "orders" else None)


STEPS = {"sharding": StepSpec(sharding, _validate)}
