"""The events-faults step: one trial per broker and fault, each fault applied once a share of the orders is placed
while placing goes on, and what it showed read from the trial's ledger and samples (docs/events.md).

    consumer-killed  the read-model consumer (a process of its own) SIGKILLed mid-batch, a new one down_s later:
                     redeliveries, and duplicate effects only without idempotent consumers (-p idempotent=false)
    broker-killed    the broker's server SIGKILLed, started again down_s later on the same data: what its
                     persistence kept (events lost must be 0 with confirms and acks), retries, duplicates
    poison           every 10th order cannot be handled by the inventory service: dead-lettered after
                     max_deliveries tries, its saga ends dead-lettered
    overload         orders placed open-loop at overload_rate with one consumer per group: lag growth, time to drain
    cdc-stopped      (change data capture) the capture stopped for stop_s: WAL retained by the slot per minute,
                     then released
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.events.pipeline import Pipeline
from sandbox.experiments.events.result import EventsRun, Trial
from sandbox.experiments.events.run import FaultHook, Roles, run_trial
from sandbox.experiments.events.steps import ROLES, capture_login, check_choices, knobs_of, orders_only
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stack.faults import FaultInjector
from sandbox.stores.registry import StoreRegistry, registry_of

# How long the cdc-stopped fault waits, after the capture resumed, for the slot to let go of WAL. The slot's
# restart_lsn moves only past a running-transactions record (PostgreSQL logs one every 15 s, and at checkpoints)
# followed by a commit the capture confirms: in a database gone quiet nothing moves it (Debezium's heartbeats).
RELEASE_WAIT_S = 30.0
FAULTS = ("consumer-killed", "broker-killed", "poison", "overload", "cdc-stopped")


def _faults(params: dict[str, Any]) -> list[str]:
    faults = params.get("faults", list(FAULTS))
    if not isinstance(faults, list) or not faults or any(f not in FAULTS for f in faults):
        raise UsageError(f"events_faults: faults must be a list of {', '.join(FAULTS)}, got {faults!r}")
    return faults


def _check_kinds(params: dict[str, Any], run: RunParams, registry: StoreRegistry) -> None:
    check_choices("events_faults", params, registry)
    _faults(params)


def _after(ctx: RunContext, fault: str, params: dict[str, Any]) -> tuple[FaultHook | None, dict[str, Any]]:
    """The hook that applies a fault, and what the trial changes for it (knobs, capture, child consumer)."""
    down_s, stop_s = float(params.get("down_s", 3.0)), float(params.get("stop_s", 10.0))

    async def consumer_killed(pipeline: Pipeline, trial: Trial) -> None:
        child = pipeline.child
        assert child is not None
        # Into its stride, and right after an effect it has not acked yet (the worker pauses between the two):
        # that delivery comes again, applied twice unless the consumer is idempotent.
        applied = await child.kill_mid_batch(25, 30.0)
        await asyncio.sleep(down_s)
        await child.start()
        trial.faults.append({"fault": fault, "did": f"SIGKILL to the read-model consumer process after it applied "
                                                    f"{applied} deliveries; a new member {down_s:g} s later"})

    async def broker_killed(pipeline: Pipeline, trial: Trial) -> None:
        injector = FaultInjector(ctx.stack)
        did = await injector.apply(trial.broker, "kill")
        await asyncio.sleep(down_s)
        again = await injector.apply(trial.broker, "start")
        trial.faults.append({"fault": fault, "did": f"{trial.broker}: {did}; {down_s:g} s later {again}"})

    async def cdc_stopped(pipeline: Pipeline, trial: Trial) -> None:
        assert pipeline.capture is not None
        await pipeline.stop_relay()
        t0, before = pipeline.samples.at(), await pipeline.capture.retained_bytes()
        await asyncio.sleep(stop_s)
        during = await pipeline.capture.retained_bytes()
        pipeline.start_relay()
        resumed = asyncio.get_running_loop().time()
        released = None
        while asyncio.get_running_loop().time() - resumed < RELEASE_WAIT_S:
            if await pipeline.capture.retained_bytes() < during:
                released = asyncio.get_running_loop().time() - resumed
                break
            await asyncio.sleep(0.25)
        trial.faults.append({"fault": fault, "did": f"change capture stopped for {stop_s:g} s at {t0:g} s",
                             "retained_before": before, "retained_stopped": during, "stop_s": stop_s,
                             "stopped_at": t0, "released_s": released,
                             "retained_after": await pipeline.capture.retained_bytes()})

    chosen: dict[str, tuple[FaultHook | None, dict[str, Any]]] = {
            "consumer-killed": (consumer_killed, {"child": True}),
            "broker-killed": (broker_killed, {}),
            "cdc-stopped": (cdc_stopped, {"capture": "cdc"}),
            "poison": (None, {"poison_every": 10}),
            "overload": (None, {"rate": float(params.get("overload_rate", 400.0)), "consumers": 1})}
    return chosen[fault]


def showed(fault: str, trial: Trial) -> str:
    """What the trial's ledger and samples say the fault did."""
    r, ledger = trial.reconciled, trial.ledger
    lost = r.counts.get("lost", 0)
    if fault == "consumer-killed":
        again = sum(max(0, n - 1) for (g, _), n in ledger.delivered.items() if g == "read-model")
        return (f"{again} read-model deliveries came again; duplicate effects {r.duplicates_applied} "
                f"({'idempotent' if trial.idempotent else 'NOT idempotent'} consumer); lost {lost}")
    if fault == "broker-killed":
        return (f"lost {lost}; {r.duplicates_delivered} duplicate deliveries; {len(trial.errors)} kinds of client "
                f"error seen while it was down (e.g. {trial.errors[0] if trial.errors else 'none'})")
    if fault == "poison":
        return (f"{trial.dead_letters} dead-lettered after {sum(ledger.retried.values())} failed tries; "
                f"{trial.saga.ends.get('dead-lettered', 0)} sagas ended dead-lettered; lost {lost}")
    if fault == "overload":
        peak = max((n for _, n in trial.lag), default=0)
        at = next((t for t, n in trial.lag if n == peak), 0.0)
        return (f"lag peaked at {peak} messages after {at:g} s (~{peak / at if at else 0:.0f} msg/s growth); "
                + (f"drained {trial.drain_s:.1f} s after the last order" if trial.drain_s is not None
                   else "never drained"))
    f = next((x for x in trial.faults if x["fault"] == fault), {})
    grew = f.get("retained_stopped", 0) - f.get("retained_before", 0)
    per_min = grew / f["stop_s"] * 60 if f.get("stop_s") else 0
    released = f.get("released_s")
    let_go = (f"released {released:.1f} s after it resumed ({f.get('retained_after', 0):,} bytes then)"
              if released is not None else f"not released within {RELEASE_WAIT_S:g} s of resuming (no commit after "
              "a running-transactions record: a quiet database needs heartbeats)")
    return (f"slot retained {f.get('retained_before', 0):,} -> {f.get('retained_stopped', 0):,} bytes while stopped "
            f"(~{per_min:,.0f} bytes/min at this write rate); {let_go}; lost {lost}")


async def events_faults(ctx: RunContext, orders_db: str, inventory_db: str, read_model: str, brokers: list[str],
                        faults: list[str] | None = None, consumers: int = 2, idempotent: bool = True,
                        max_deliveries: int = 3, stock_cap: int = 0, down_s: float = 3.0, stop_s: float = 10.0,
                        overload_rate: float = 400.0, delay_ms: float = 20.0, settle_s: float = 90.0) -> None:
    """Each fault once per broker, in a trial of its own; every event id and saga accounted for as in `events`."""
    params = dict(locals())
    params.pop("ctx")
    chosen = _faults({"faults": faults or list(FAULTS)})
    check_choices("events_faults", params, registry_of(ctx.settings))
    state = ctx.results.ensure(EventsRun)
    for broker in brokers:
        if "broker-killed" in chosen and ctx.stack.pid(broker) is None:
            raise UsageError(f"events_faults: broker-killed needs {broker} run by this stack (`sandbox up --stores "
                             f"{broker}`); leave the fault out with -p 'faults=[...]'")
        for fault in chosen:
            hook, changes = _after(ctx, fault, params)
            knobs = knobs_of(ctx, {**params, **{k: v for k, v in changes.items() if k in ("consumers",)}})
            knobs = replace(knobs, rate=changes.get("rate", knobs.rate),
                            rules=replace(knobs.rules, poison_every=changes.get("poison_every", 0)))
            capture = changes.get("capture", "outbox")
            roles = Roles(orders_db, inventory_db, read_model, broker, capture,
                          capture_url=capture_login(ctx, orders_db, capture))
            namespace = f"sbx_{ctx.run_id}_f{len(state.trials)}"
            ctx.progress.note(f"events-faults: {broker}, {fault}, {ctx.params.orders} orders")
            trial = await run_trial(ctx.settings, ctx.dataset, roles, knobs, namespace, hook,
                                    child_delay_ms=delay_ms if changes.get("child") else None, run_id=ctx.run_id,
                                    notes=ctx.notes)
            if not any(f["fault"] == fault for f in trial.faults):
                trial.faults.append({"fault": fault, "did": _did(fault, knobs.rate)})
            for f in trial.faults:
                f["showed"] = showed(fault, trial)
            state.trials.append(trial)


def _did(fault: str, rate: float) -> str:
    return {"poison": "every 10th order.placed cannot be handled by the inventory service",
            "overload": f"orders placed open-loop at {rate:g}/s, one consumer per group"}.get(fault, fault)


STEPS = {"events_faults": StepSpec(events_faults, validate=orders_only("events_faults"), roles=ROLES,
                                   check_kinds=_check_kinds)}
