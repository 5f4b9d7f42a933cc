"""Steps of the `replicas` scenario: every guarantee side by side, then faults on the replicas.

    replicas        each store with replicas: markers + background load under each guarantee its kind
                    declares (PostgreSQL async / remote_write / on / remote_apply; Redis async / WAIT)
    replica_fault   pause or kill the replica for N s while the markers run, or kill the primary and
                    promote the replica (then every write is classified against the promoted node)

Each pair works in a namespace of its own (sbx_<run id>_r<n>) and drops it afterwards. Stores without
replicas on this backend get one note saying so; nothing is invented for them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.replicas.faults import ReplicaFault, finish_outage, promote_after_kill, replica_outage
from sandbox.experiments.replicas.results import ReplicaResults
from sandbox.experiments.replicas.run import open_pair, run_markers
from sandbox.measure.replication import ROUTES
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stack.base import privileged
from sandbox.stack.faults import FaultInjector
from sandbox.stores.registry import registry_of
from sandbox.stores.replication import REPLICA_URL, Guarantee, Replication, replica_node

ACTIONS = ("pause", "kill", "promote")


def results(ctx: RunContext) -> ReplicaResults:
    return ctx.results.ensure(ReplicaResults)


def _servers(ctx: RunContext, store: str, rep: Replication) -> tuple[str, str | None]:
    """The URLs the replication calls use (guarantee settings, lag, role, promotion): the stack's administrative
    login on its own primary and replica; the run's URLs where the stack runs neither, unless a guarantee must be
    set on the primary (then one line saying which privilege, and no run)."""
    url = ctx.settings.values[f"{store}_url"]
    if not ctx.stack.owns(store, url):
        if rep.configure is not None:
            privileged(ctx.stack, store, url, f"replicas set a guarantee on the primary ({rep.needs})")
        return url, None
    by_url = bool(ctx.settings.values.get(f"{store}_{REPLICA_URL}"))
    return ctx.stack.admin_url(store), None if by_url else ctx.stack.admin_url(replica_node(store))


def _with_replicas(ctx: RunContext, own_stack: bool = False) -> dict[str, Replication]:
    """The run's stores that have a replica here; the others are noted once, with the reason."""
    state, found = results(ctx), {}
    for store in ctx.stores:
        rep = registry_of(ctx.settings).kind(store).replication
        by_url = bool(ctx.settings.values.get(f"{store}_{REPLICA_URL}"))
        if rep is None:
            state.without[store] = "no replicas in the sandbox for this store"
        elif by_url and own_stack:
            state.without[store] = "its replica is given by URL: faults need the sandbox's own replica"
        elif not (by_url or rep.available_on(ctx.backend)):
            state.without[store] = f"no replicas on this backend ({ctx.backend})" + (
                f"; {rep.backends_note}" if rep.backends_note else "")
        else:
            found[store] = rep
    return found


def _namespace(ctx: RunContext) -> str:
    state = results(ctx)
    state.pairs += 1
    return f"sbx_{ctx.run_id}_r{state.pairs}"


def _restore_async(ctx: RunContext, rep: Replication, primary_url: str) -> None:
    """Leave the primary as it was (no synchronous standby): a stopped replica must not block its commits."""
    if rep.configure is None or not rep.guarantees:
        return
    configure, first = rep.configure, rep.guarantees[0]

    async def reset() -> None:
        await configure(primary_url, first)

    ctx.cleanups.append(reset)


def _pick(rep: Replication, name: str) -> Guarantee:
    """weakest (the default) | strongest | a guarantee's own name."""
    if name in ("", "weakest"):
        return rep.guarantees[0]
    if name == "strongest":
        return rep.guarantees[-1]
    for g in rep.guarantees:
        if g.name == name:
            return g
    raise UsageError(f"guarantee {name!r} is not one of {', '.join(g.name for g in rep.guarantees)}")


async def replicas(ctx: RunContext, markers: int = 300, load: int = 2000, route: str = "replica",
                   timeout_s: float = 10.0) -> None:
    """Each guarantee of each store with a replica: write cost, client lag, server lag, stale reads."""
    state = results(ctx)
    for store, rep in _with_replicas(ctx).items():
        servers = _servers(ctx, store, rep)
        _restore_async(ctx, rep, servers[0])
        for guarantee in rep.guarantees:
            ctx.progress.note(f"replicas: {store} {guarantee.name}")
            async with open_pair(ctx.settings, ctx.stack.ws, store, _namespace(ctx), guarantee, ctx.dataset,
                                 ctx.params.concurrency, servers) as pair:
                state.rows.append(await run_markers(pair, guarantee, ctx.dataset, markers, load,
                                                    ctx.params.concurrency, route, timeout_s))


async def replica_fault(ctx: RunContext, action: str = "pause", seconds: float = 2.0, at_s: float = 0.5,
                        route: str = "replica", guarantee: str = "weakest", load: int = 3000, kill_at_op: int = 300,
                        timeout_s: float = 20.0) -> None:
    """pause | kill the replica for `seconds`, or kill the primary (the replica `seconds` behind) and promote."""
    state = results(ctx)
    injector = FaultInjector(ctx.stack)
    for store, rep in _with_replicas(ctx, own_stack=True).items():
        servers = _servers(ctx, store, rep)
        _restore_async(ctx, rep, servers[0])
        chosen = _pick(rep, guarantee)
        ctx.progress.note(f"replica fault: {store} {action} {seconds:g} s ({chosen.name})")
        fault = ReplicaFault(store, action, seconds, chosen.name)
        async with open_pair(ctx.settings, ctx.stack.ws, store, _namespace(ctx), chosen, ctx.dataset,
                             ctx.params.concurrency, servers) as pair:
            try:
                if action == "promote":
                    await promote_after_kill(pair, injector, fault, ctx.dataset, load, ctx.params.concurrency,
                                             kill_at_op, ctx.results_dir / f"history-{store}-promote.jsonl", seconds)
                else:
                    await run_markers(pair, chosen, ctx.dataset, 0, load, ctx.params.concurrency, route,
                                      timeout_s, replica_outage(injector, fault, at_s))
                    finish_outage(fault)
            finally:  # inside the pair, so its namespace is dropped on the restored primary
                await _recover(ctx, injector, store, servers[0], promoted=action == "promote")
        state.faults.append(fault)


async def _recover(ctx: RunContext, injector: FaultInjector, store: str, primary: str, promoted: bool) -> None:
    """Back to a primary with a following replica: a promoted replica is discarded and cloned afresh."""
    if promoted:
        await asyncio.to_thread(ctx.stack.discard, replica_node(store))
    await injector.restore()
    await asyncio.to_thread(ctx.stack.up, [store], 1)
    rep = registry_of(ctx.settings).kind(store).replication
    if rep is not None and rep.configure is not None and rep.guarantees:  # the restarted primary kept them
        await rep.configure(primary, rep.guarantees[0])


def check_fault(params: dict[str, Any], run: RunParams) -> None:
    if params.get("action", "pause") not in ACTIONS:
        raise UsageError(f"replica_fault: unknown action {params.get('action')!r}; choose from {', '.join(ACTIONS)}")
    if params.get("route", "fallback") not in ROUTES:
        raise UsageError(f"replica_fault: unknown route {params.get('route')!r}; choose from {', '.join(ROUTES)}")


def check_replicas(params: dict[str, Any], run: RunParams) -> None:
    if params.get("route", "replica") not in ROUTES:
        raise UsageError(f"replicas: unknown route {params.get('route')!r}; choose from {', '.join(ROUTES)}")


STEPS = {"replicas": StepSpec(replicas, check_replicas), "replica_fault": StepSpec(replica_fault, check_fault)}
