"""The isolate step: a store's server restarted inside a network namespace of its own, reached through a veth
pair the run creates (stack/netns.py, native backend, root), so the `partition` and `heal` fault actions
(stack/faults.py, the `faults` step's schedule) cut its link for real: its clients see connections hang, and
every operation of the history is classified as usual (one cut after it was sent stays unknown).

Put it first, before `prepare`: the server restarts (on the same data) and the run's clients are reopened at
the namespace's address, with the listeners the later phases attach. A cleanup the runner always runs puts the
server back on loopback (and the run's clients with it) before the namespace is dropped, so teardown works as
usual; a run killed harder leaves the holder in the stack's records, and `sandbox up` or `down` removes it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sandbox.config import Settings, endpoint, mask
from sandbox.errors import UsageError
from sandbox.experiments.faults.steps import faults
from sandbox.experiments.network.result import Isolation
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stack.netns import latency_unavailable
from sandbox.stores import make_model_store, split_variant
from sandbox.stores.connect import connect_all


def with_host(url: str, host: str) -> str:
    """The URL with its host replaced (user, password and port kept)."""
    parts = urlsplit(url)
    auth, _, _ = parts.netloc.rpartition("@")
    netloc = (f"{auth}@" if auth else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def moved(settings: Settings, kind: str, host: str) -> Settings:
    """The run's settings with one store kind's URL pointing at `host`."""
    key = f"{kind}_url"
    return Settings(settings.kinds, {**settings.values, key: with_host(settings.values[key], host)}, settings.insecure)


async def reopen(ctx: RunContext, store: str, settings: Settings) -> None:
    """The run's client of `store` opened again at the URL `settings` give, as the runner opens it (its timing
    wrapper, histograms and listeners kept); the old one closed."""
    ts = ctx.stores[store]
    fresh = make_model_store(settings, store, ts.store.namespace, ctx.model, ctx.params.concurrency,
                             ctx.params.options)
    ctx.servers.update(await connect_all([fresh]))
    old, ts.store = ts.store, fresh
    ctx.endpoints[store] = mask(fresh.endpoint.url)
    try:
        async with asyncio.timeout(5.0):
            await old.close()
    except Exception as exc:  # its server was restarted under it: closing may fail, nothing is lost
        ctx.notes.append(f"isolate: closing {store}'s old client: {type(exc).__name__}"[:200])


async def isolate(ctx: RunContext, store: str) -> None:
    """Restart `store` inside a network namespace reached through a veth pair, so `partition` can cut it."""
    result = ctx.results.ensure(Isolation)
    result.latency_injection = latency_unavailable() or "available (sch_netem answers)"
    kind = split_variant(store)[0]
    original = ctx.settings
    net = await asyncio.to_thread(ctx.stack.isolate, store)

    async def back() -> None:
        await asyncio.to_thread(ctx.stack.release_isolation, store)
        ctx.settings = original
        await reopen(ctx, store, original)  # teardown drops the run's namespace through it

    ctx.cleanups.append(back)
    ctx.settings = moved(original, kind, net.ns_ip)  # probes, readers and checks opened later go there too
    await reopen(ctx, store, ctx.settings)
    result.stores[store] = {"address": f"{net.ns_ip}:{urlsplit(endpoint(ctx.settings, kind).url).port}",
                            "host_end": f"{net.host_if} {net.host_ip}/30",
                            "namespace_end": f"{net.ns_if} {net.ns_ip}/30",
                            "holder_pid": net.holder,
                            "partition": "the namespace end set down: packets dropped, connections hang"}


async def partition(ctx: RunContext, store: str, at_s: float = 3.0, cut_s: float = 4.0) -> None:
    """Cut the isolated store's link at_s seconds into the next phase (`write`) for cut_s seconds, then heal it:
    a fault schedule of the faults experiment (history, settle and check as for any fault)."""
    if store not in ctx.results.ensure(Isolation).stores:
        raise UsageError(f"partition: {store} is not behind a network namespace; put an `isolate` phase with "
                         f"store = {store!r} first (before prepare)")
    await faults(ctx, [{"store": store, "action": "partition", "at_s": at_s},
                       {"store": store, "action": "heal", "after_s": cut_s}])


def _validate_partition(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(partition, params)
    for key in ("at_s", "cut_s"):
        value = given[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or \
                (key == "cut_s" and value == 0):
            raise UsageError(f"partition: {key} must be a {'positive' if key == 'cut_s' else 'non-negative'} "
                             f"number of seconds, got {value!r}")


STEPS = {"isolate": StepSpec(isolate, roles={"store": "partition"}),
         "partition": StepSpec(partition, _validate_partition, roles={"store": "partition"})}
