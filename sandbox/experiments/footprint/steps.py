"""The footprint step: each store's bytes, from its server's own figures (contract.Footprint), read before the
step writes and again after the roots reach each of the given sizes (the run's write phase, if one ran first,
counts toward them); the readings are fitted as fixed + per-entity bytes (result.py, fit.py).

Stores are measured one after another, not together: a server-wide log (PostgreSQL's WAL) differenced between
two readings must see only this store's writes (two designs of one kind share a server). The roots go through
the store's own client, not the run's timing wrapper: this step measures bytes, not latency."""

from __future__ import annotations

from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.footprint import index_cost
from sandbox.experiments.footprint import prices as price_table
from sandbox.experiments.footprint.project import parse
from sandbox.experiments.footprint.result import FootprintResult, StoreFootprint
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stores.contract import BatchWrite, Footprint

MAX_SIZE = 10_000_000


async def _write(store: Any, ctx: RunContext, start: int, stop: int, batch: int,
                 advance: Any) -> None:
    for low in range(start, stop, batch):
        chunk = list(ctx.dataset.roots(low, min(stop, low + batch)))
        if isinstance(store, BatchWrite):
            await store.write_batch(chunk)
        else:
            for instance in chunk:
                await store.write(instance)
        advance(len(chunk))


async def footprint(ctx: RunContext, sizes: list[int] | None = None, batch: int = 500, project: str | None = None,
                    prices: str | None = None) -> None:
    """Read each store's footprint, write roots up to each of `sizes` (default 300, 1000, 3000), read again;
    with `project`, carry the fit to that scale and charge it at `prices` (project.py; default the shipped
    sample table)."""
    sizes = sorted(sizes or [300, 1000, 3000])
    result = ctx.results.ensure(FootprintResult)
    result.sizes = sizes
    if project is not None:
        result.projection, result.prices = parse(project), price_table.load(prices)
    for name, ts in ctx.stores.items():
        store: Any = ts.store
        if not isinstance(store, Footprint):
            result.not_measured[name] = "its model store has no footprint() (contract.Footprint)"
            continue
        kept = result.stores.setdefault(name, StoreFootprint(str(ctx.servers.get(name, "?"))))
        held = kept.readings[-1][0] if kept.readings else ctx.written.get(name, 0)
        bar = ctx.progress.bar(f"footprint {name}", max(0, sizes[-1] - held))
        kept.readings.append((held, await store.footprint()))
        for size in sizes:
            if size <= held:
                ctx.notes.append(f"footprint: {name} already held {held} roots; size {size} not measured")
                continue
            await _write(store, ctx, held, size, batch, bar.advance)
            held = size
            kept.readings.append((held, await store.footprint()))


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(footprint, params)
    sizes, batch = given["sizes"], given["batch"]
    if sizes is not None and (not isinstance(sizes, list) or not 1 <= len(sizes) <= 3 or any(
            isinstance(s, bool) or not isinstance(s, int) or not 0 < s <= MAX_SIZE for s in sizes) \
                or len(set(sizes)) != len(sizes)):
        raise UsageError(f"footprint: sizes must be one to three distinct whole numbers of roots in 1.."
                         f"{MAX_SIZE:,}, got {sizes!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10_000:
        raise UsageError(f"footprint: batch must be a whole number in 1..10000, got {batch!r}")
    if given["project"] is not None:
        parse(given["project"])
    if given["prices"] is not None:
        if given["project"] is None:
            raise UsageError('footprint: prices are for a projection: add -p project="entities=100M,..." '
                             "(or drop -p prices)")
        if not isinstance(given["prices"], str):
            raise UsageError(f"footprint: prices must be a file's path, got {given['prices']!r}")
        price_table.load(given["prices"])


STEPS = {"footprint": StepSpec(footprint, _validate), **index_cost.STEPS}
