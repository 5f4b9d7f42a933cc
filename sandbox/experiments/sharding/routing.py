"""The `routing` step: the shard Elasticsearch gives each routing value, predicted here and asked of the server.

Routing by customer id keeps a customer's orders on one shard (any model: the key of the first reference
entity its root references, model_key_kinds). The step predicts each value's
shard (`es_shard`: Murmur3 as Elasticsearch computes it) and compares it with `_search_shards?routing=`
on an index of N primary shards. A value the server places elsewhere is a finding (exit 3).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.experiments.sharding.result import ShardingRuns
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, role_part, whole_number, with_defaults
from sandbox.workload.sharding import es_routing_shards, es_shard, model_key_kinds, model_keys

EXAMPLES = 5


async def routing(ctx: RunContext, store: str, shards: int = 5, keys: int = 500) -> None:
    """Predicted against answered shard for `keys` customer ids on an index of `shards` primary shards."""
    _check(shards, keys)
    kinds = model_key_kinds(ctx.model)
    routed_by = kinds[1] if len(kinds) > 1 else kinds[0]  # the orders model: customer_id
    probe = role_part(ctx, "routing", "store", "routing", store)(endpoint(ctx.settings, store).url,
                                                                 f"sbx_{ctx.run_id}", shards)
    try:
        server = await probe.connect()
    except Exception as exc:
        await probe.close()
        raise UsageError(f"elastic is not reachable ({type(exc).__name__}); start it with `sandbox up`") from None
    bar = ctx.progress.bar("routing", keys)
    mismatches: list[dict[str, Any]] = []
    placed: Counter[int] = Counter()
    try:
        await probe.create()
        for value in model_keys(ctx.model, routed_by, keys, ctx.params.seed or 0):
            predicted, answered = es_shard(value, shards), await probe.shard_of(value)
            placed[answered] += 1
            if predicted != answered:
                mismatches.append({"routing": value, "predicted": predicted, "server": answered})
            bar.advance()
    finally:
        await probe.drop()
        await probe.close()
    result = {"server": server, "routed_by": routed_by, "shards": shards,
              "routing_shards": es_routing_shards(shards), "keys": keys,
              "matched": keys - len(mismatches), "mismatches": len(mismatches), "examples": mismatches[:EXAMPLES],
              "per_shard": {str(s): placed[s] for s in range(shards)}}
    ctx.results.ensure(ShardingRuns).by_step["routing"] = result


def _check(shards: Any, keys: Any) -> None:
    whole_number("routing", "shards", shards, 1, 1024)
    whole_number("routing", "keys", keys, 1, 100_000)


def _validate(params: dict[str, Any], run: RunParams) -> None:
    _check(**with_defaults(routing, params, leave_out=("store",)))


STEPS = {"routing": StepSpec(routing, _validate, roles={"store": "routing"})}
