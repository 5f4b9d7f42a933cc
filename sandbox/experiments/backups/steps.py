"""The backup drill step: per store of the run with backups, in turn, in a namespace of its own: open-loop writes,
a backup every `every`, a disaster at a moment drawn from the run's seed (kill -9 of the server and its data
directory deleted: only the stack's own), a restore from the newest backup (+ the continuous archive where the
store keeps one and `archive_survives`), then every root sent classified by the checker (drill.py).

A store whose kind has no backups here is listed with the one line its kind gives. The stack must own the
server (native backend, the stack's own port): anything else is refused before a write (exit 2).
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.backups.drill import DrillPlan, run_drill
from sandbox.experiments.backups.result import BackupRun, DrillRow
from sandbox.measure.checker import Verdict, check_stores
from sandbox.measure.history import OpHistory
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stack.backups import DOCKER_REFUSAL, backups_of, target_of
from sandbox.stack.faults import FaultInjector
from sandbox.stores import make_model_store, split_variant
from sandbox.stores.connect import close_all, connect_all, prepare_all
from sandbox.stores.contract import NoBackups
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry, registry_of

FAILURE_SIMULATED = ("a lost data disk: SIGKILL to the server's process tree while it took writes, then its data "
                     "files deleted (only the stack's own data directory); the backups folder beside it survives "
                     "(the continuous archive too, unless archive_survives = false)")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")


def seconds(value: Any, name: str) -> float:
    """A duration as 30, 2.5, "30s", "500ms" or "2m"; one clear line otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        got = float(value)
    elif isinstance(value, str) and (m := DURATION.match(value.strip())):
        got = float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]
    else:
        raise UsageError(f"backup_drill: {name} must be a duration like 30s, 500ms or 2m, got {value!r}")
    if got <= 0:
        raise UsageError(f"backup_drill: {name} must be positive, got {value!r}")
    return got


def disaster_moment(seed: int, store: str, every_s: float, backups: int) -> float:
    """Seconds into the writes: after the `backups`-th scheduled backup began, before the next one, drawn from
    the seed and the store (the same run, the same moment)."""
    rng = random.Random(f"{seed}:backup_drill:{store}")
    return every_s * (backups + rng.uniform(0.3, 0.95))


async def backup_drill(ctx: RunContext, every: Any = "5s", backups: int = 2, rate: float = 200.0,
                       archive_survives: bool = True, method: str | None = None,
                       restore_timeout_s: float = 120.0) -> None:
    """Per store with backups: writes at `rate`/s, a backup every `every`, a disaster after `backups` of them."""
    every_s = seconds(every, "every")
    if ctx.stack.backend != "native":
        raise UsageError(f"backup_drill: {DOCKER_REFUSAL}")
    registry = registry_of(ctx.settings)
    result = ctx.results.ensure(BackupRun)
    result.failure_simulated = FAILURE_SIMULATED if archive_survives else FAILURE_SIMULATED.replace(
        " (the continuous archive too, unless archive_survives = false)", "; the continuous archive is lost too")
    kinds = dict.fromkeys(split_variant(s)[0] for s in ctx.stores)
    for kind in kinds:
        declared = registry.kind(kind).backups
        if isinstance(declared, NoBackups) or declared is None:
            result.not_possible[kind] = declared.reason if declared else "its kind declares no backups"
            continue
        url = ctx.settings.values.get(f"{kind}_url", "")
        if not ctx.stack.owns(kind, url):
            raise UsageError(f"backup_drill: {kind} at its configured URL is not this stack's own server; a drill "
                             "kills and deletes data only of servers `sandbox up` started (native backend)")
    injector = FaultInjector(ctx.stack)
    original = ctx.stack.durability
    ctx.cleanups.append(lambda: _back(ctx, injector, original))
    for kind in kinds:
        if kind in result.not_possible:
            continue
        store_backups = backups_of(registry, kind)
        knobs = {f"{kind}.{k}": v for k, v in store_backups.continuous_knobs.items()}
        if knobs and any(ctx.stack.durability.changes.get(k) != v for k, v in knobs.items()):
            ctx.stack.set_durability(Durability({**ctx.stack.durability.changes, **knobs}))
            await injector.apply(kind, "restart")
            ctx.notes.append(f"backup_drill: {kind} restarted with {', '.join(f'{k}={v}' for k, v in knobs.items())}")
        chosen = method or store_backups.methods[0]
        if chosen not in store_backups.methods:
            raise UsageError(f"backup_drill: {kind} has no backup method {chosen!r} "
                             f"(it has {', '.join(store_backups.methods)})")
        plan = DrillPlan(every_s, disaster_moment(ctx.params.seed or 0, kind, every_s, backups), chosen,
                         archive_survives, restore_timeout_s)
        result.rows.append(await _drill_one(ctx, registry, kind, plan, rate, injector))


async def _drill_one(ctx: RunContext, registry: StoreRegistry, kind: str, plan: DrillPlan, rate: float,
                     injector: FaultInjector) -> DrillRow:
    p = ctx.params
    namespace = f"sbx_{ctx.run_id}_bk"
    root = ctx.model.root_entity

    def adapter() -> Any:
        return make_model_store(ctx.settings, kind, namespace, ctx.model, p.concurrency, p.options)

    writer = adapter()
    servers = await connect_all([writer])
    store_backups = backups_of(registry, kind)
    continuous = store_backups.continuous or "-"
    if store_backups.continuous:
        continuous += " (survives)" if plan.archive_survives else " (lost with the data)"
    row = DrillRow(kind, str(servers[kind]), plan.method, continuous)
    history = OpHistory(ctx.results_dir / f"history-backups-{kind}.jsonl")
    ts = TimedStore(writer, p.op_timeout_s, [history.listener], entity=root.name, key=root.key)
    reader: Any = None

    async def open_reader() -> Any:
        fresh = adapter()
        await fresh.connect()
        return fresh

    try:
        await prepare_all([writer], ctx.dataset, ctx.run_id, registry, ctx.notes)
        target = target_of(ctx.stack, registry, kind, namespace)
        outcome = await run_drill(ts, ctx.dataset, LoadPlan(p.concurrency, rate=rate, seed=p.seed or 0),
                                  p.batch, store_backups, target, injector, plan, open_reader, row)
        reader = outcome.reader
        history.close()
        check = (await check_stores(ctx.dataset, outcome.sent, {kind: reader}, history.outcomes,
                                    keep=(Verdict.LOST,)))[kind]
        row.counts = {v.value: n for v, n in check.counts.items() if n}
        row.error = row.error or check.error
        row.present_after = check.present
        row.lost = check.counts[Verdict.LOST]
        row.unknown = check.counts[Verdict.UNKNOWN_THEN_PRESENT] + check.counts[Verdict.UNKNOWN_THEN_ABSENT]
        row.lost_window_s = outcome.lost_window((check.ids or {}).get(Verdict.LOST, set()))
        if ctx.dataset.count <= outcome.sent:
            row.note = "the stream ran out before the disaster: raise --orders"
    except Exception as exc:  # one store's drill failing is its row's error; the others still run
        row.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        history.close()
        await close_all([writer], keep=True, notes=ctx.notes)  # its server was killed under it
        if reader is not None:
            await close_all([reader], keep=ctx.params.keep, notes=ctx.notes)  # drops the drill's namespace
    return row


async def _back(ctx: RunContext, injector: FaultInjector, original: Durability) -> None:
    """Servers running again, with the settings `sandbox up` gave them."""
    await injector.restore()
    if ctx.stack.durability != original:
        ctx.stack.set_durability(original)
        for kind in dict.fromkeys(split_variant(s)[0] for s in ctx.stores):
            if ctx.stack.is_running(kind):
                await asyncio.to_thread(ctx.stack.restart, kind)
        ctx.notes.append("backup_drill: servers restarted with their original settings")


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(backup_drill, params)
    seconds(given["every"], "every")
    n = given["backups"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UsageError(f"backup_drill: backups (how many before the disaster) must be a whole number >= 1, got {n!r}")
    rate = given["rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
        raise UsageError(f"backup_drill: rate must be a positive number of writes per second, got {rate!r}")
    if not isinstance(given["archive_survives"], bool):
        raise UsageError("backup_drill: archive_survives must be true or false")
    kinds = [split_variant(s)[0] for s in run.stores]
    if len(set(kinds)) < len(kinds):
        raise UsageError("backup_drill kills each store's server: designs of one kind share it; run them apart")


STEPS = {"backup_drill": StepSpec(backup_drill, _validate)}
