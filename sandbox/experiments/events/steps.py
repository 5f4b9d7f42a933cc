"""The events step: services with their own stores talking through a broker, one trial per broker and way out
of the database (scenarios events, cdc-vs-outbox; events-faults adds faults, faults.py).

    [[phase]] step = "events", brokers = [...], captures = ["outbox", "cdc"], consumers = 2 (scenarios/events.toml)
"""

from __future__ import annotations

from typing import Any

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.experiments.events.pipeline import Tuning
from sandbox.experiments.events.result import EventsRun
from sandbox.experiments.events.run import FaultHook, Knobs, Roles, run_trial
from sandbox.experiments.events.services import SagaRules
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, whole_number
from sandbox.stores.registry import StoreRegistry, registry_of
from sandbox.strategies.registry import model_name

CAPTURES = ("outbox", "cdc")
ROLES = {"orders_db": "event_source", "inventory_db": "inventory", "read_model": "read_model"}


def brokers_of(registry: StoreRegistry) -> list[str]:
    return sorted(n for n, k in registry.kinds.items() if "broker" in k.roles)


def check_choices(step: str, params: dict[str, Any], registry: StoreRegistry) -> tuple[list[str], list[str]]:
    """The brokers and captures a phase names, each one known; one line when not."""
    brokers, captures = params.get("brokers"), params.get("captures") or ["outbox"]
    known = brokers_of(registry)
    if not isinstance(brokers, list) or not brokers:
        raise UsageError(f"{step}: brokers must be a list of broker names; choose from {', '.join(known)}")
    for name in brokers:
        if name not in known:
            raise UsageError(f"{step}: unknown broker {name!r}: choose from {', '.join(known)}")
    if not isinstance(captures, list) or not captures or any(c not in CAPTURES for c in captures):
        raise UsageError(f"{step}: captures must be a list of {' and '.join(CAPTURES)}, got {captures!r}")
    whole_number(step, "consumers", params.get("consumers", 2), 1, 64, " (members per consumer group)")
    whole_number(step, "max_deliveries", params.get("max_deliveries", 3), 1, 100)
    whole_number(step, "payment_fail_every", params.get("payment_fail_every", 7), 0, 1_000_000)
    whole_number(step, "poison_every", params.get("poison_every", 0), 0, 1_000_000)
    whole_number(step, "stock_cap", params.get("stock_cap", 0), 0, 1_000_000_000)
    for name in ("rate", "settle_s"):
        value = params.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise UsageError(f"{step}: {name} must be a number >= 0, got {value!r}")
    return brokers, captures


def _check_kinds(params: dict[str, Any], run: RunParams, registry: StoreRegistry) -> None:
    check_choices("events", params, registry)


def orders_only(step: str) -> Any:
    """A step validator: the services and the saga are the orders model's meaning (customers, lines, stock,
    payment, pending -> confirmed | cancelled); another model is refused in one line before anything connects."""
    def validate(params: dict[str, Any], run: RunParams) -> None:
        if model_name(run.model) != "orders":
            raise UsageError(f"{step}: the services and their saga are the orders model's (order lines, stock, "
                             f"payment, pending -> confirmed | cancelled); --model {run.model} has no such meaning: "
                             "drop --model or use --model orders")
    return validate


def knobs_of(ctx: RunContext, params: dict[str, Any]) -> Knobs:
    rules = SagaRules(params.get("payment_fail_every", 7), params.get("poison_every", 0),
                      params.get("idempotent", True))
    tuning = Tuning(consumers=params.get("consumers", 2))
    return Knobs(rules, tuning, ctx.params.concurrency, float(params.get("rate", 0.0)),
                 float(params.get("settle_s", 60.0)), params.get("max_deliveries", 3), params.get("stock_cap", 0),
                 ctx.params.keep, ctx.params.options, ctx.params.op_timeout_s)


def capture_login(ctx: RunContext, orders_db: str, capture: str) -> str:
    """The login change data capture reads the log with: the stack's administrative one on a server it owns (a
    slot needs REPLICATION, which the run's login lacks by design), the run's own on a server of the user's."""
    if capture != "cdc":
        return ""
    url = endpoint(ctx.settings, orders_db).url
    return ctx.stack.admin_url(orders_db) if ctx.stack.owns(orders_db, url) else url


async def run_all(ctx: RunContext, params: dict[str, Any], fault: FaultHook | None = None,
                  fault_at: float = 0.5) -> None:
    brokers, captures = check_choices("events", params, registry_of(ctx.settings))
    state = ctx.results.ensure(EventsRun)
    knobs = knobs_of(ctx, params)
    for broker in brokers:
        for capture in captures:
            roles = Roles(params["orders_db"], params["inventory_db"], params["read_model"], broker, capture,
                          capture_url=capture_login(ctx, params["orders_db"], capture))
            namespace = f"sbx_{ctx.run_id}_e{len(state.trials)}"
            ctx.progress.note(f"events: {broker} / {capture}, {ctx.params.orders} orders, "
                              f"{knobs.tuning.consumers} consumer(s) per group")
            state.trials.append(await run_trial(ctx.settings, ctx.dataset, roles, knobs, namespace, fault, fault_at,
                                                run_id=ctx.run_id, notes=ctx.notes))


async def events(ctx: RunContext, orders_db: str, inventory_db: str, read_model: str, brokers: list[str],
                 captures: list[str] | None = None,
                 consumers: int = 2, idempotent: bool = True, payment_fail_every: int = 7, poison_every: int = 0,
                 max_deliveries: int = 3, stock_cap: int = 0, rate: float = 0.0, settle_s: float = 60.0) -> None:
    """Place the run's orders (ctx.dataset's roots) through the order service and let the saga run over the
    broker(s); every event id and every saga accounted for."""
    params = dict(locals())
    params.pop("ctx")
    params["captures"] = captures or ["outbox"]
    await run_all(ctx, params)


STEPS = {"events": StepSpec(events, validate=orders_only("events"), roles=ROLES, check_kinds=_check_kinds)}
