"""The shared_database step: the same services twice, each with its own database and then with the inventory
service on the order service's database (the shared-database anti-pattern), while the order service runs a
schema migration that holds its lock for hold_s: sessions blocked on locks, and the inventory service's latency.

    [[phase]] step = "shared_database", hold_s = 3.0, and the roles' stores (scenarios/shared-database.toml)
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from sandbox.experiments.events.pipeline import Pipeline
from sandbox.experiments.events.result import EventsRun, Trial
from sandbox.experiments.events.run import Roles, run_trial
from sandbox.experiments.events.steps import ROLES, check_choices, knobs_of, orders_only
from sandbox.measure.latency import summarize
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stores.registry import StoreRegistry, registry_of


def _check_kinds(params: dict[str, Any], run: RunParams, registry: StoreRegistry) -> None:
    check_choices("shared_database", params, registry)


async def shared_database(ctx: RunContext, orders_db: str, inventory_db: str, read_model: str, brokers: list[str],
                          hold_s: float = 3.0, consumers: int = 2, stock_cap: int = 0, settle_s: float = 60.0) -> None:
    params = dict(locals())
    params.pop("ctx")
    check_choices("shared_database", params, registry_of(ctx.settings))
    state = ctx.results.ensure(EventsRun)
    source = registry_of(ctx.settings).kind(orders_db).roles["event_source"]
    for broker in brokers:
        for shared in (False, True):
            async def migration(pipeline: Pipeline, trial: Trial) -> None:
                # The order service migrates its own table; the lock lives in its database either way.
                migrator = source.shared_inventory(pipeline.orders_store)
                task = asyncio.create_task(migrator.migrate(hold_s))
                blocked = 0
                try:
                    while not task.done():
                        blocked = max(blocked, await migrator.blocked())
                        await asyncio.sleep(0.05)
                finally:
                    await migrator.close()
                trial.faults.append({"fault": "migration", "did": await task, "blocked_max": blocked})

            roles = Roles(orders_db, inventory_db, read_model, broker, "outbox", shared=shared)
            knobs = replace(knobs_of(ctx, params), rate=float(params.get("rate", 0.0)))
            namespace = f"sbx_{ctx.run_id}_s{len(state.trials)}"
            ctx.progress.note(f"shared-database: {broker}, {'shared database' if shared else 'database per service'}")
            trial = await run_trial(ctx.settings, ctx.dataset, roles, knobs, namespace, migration, 0.3,
                                    run_id=ctx.run_id, notes=ctx.notes)
            for f in trial.faults:
                inv = summarize(trial.ledger.group_apply["inventory"]) if "inventory" in trial.ledger.group_apply \
                    else {}
                f["showed"] = (f"up to {f['blocked_max']} sessions blocked on locks; inventory applied p99 "
                               f"{_ms(inv.get('p99'))} ms, max {_ms(inv.get('max'))} ms; order placed p99 "
                               f"{_ms(summarize(trial.place).get('p99'))} ms")
            state.trials.append(trial)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


STEPS = {"shared_database": StepSpec(shared_database, validate=orders_only("shared_database"), roles=ROLES,
                                     check_kinds=_check_kinds)}
