"""One trial of the event-driven services: open each service's own store and the broker in a namespace of the
trial's own, place the orders, let the sagas run to their ends, then reconcile every event id and check every
saga against what the stores hold. Stores and broker are closed (and their data dropped) whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from sandbox.config import Settings, endpoint
from sandbox.experiments.events.child import ChildGroup
from sandbox.experiments.events.pipeline import Pipeline, Tuning
from sandbox.experiments.events.result import Trial
from sandbox.experiments.events.services import SUBSCRIPTIONS, SagaRules, Services
from sandbox.measure.event_ledger import reconcile
from sandbox.measure.latency import record_us
from sandbox.measure.saga_check import check_sagas
from sandbox.measure.timing import TimedStore
from sandbox.stores import make_model_store
from sandbox.stores.connect import prepare_all
from sandbox.stores.events import Event
from sandbox.stores.registry import registry_of
from sandbox.workload.dataset import Dataset

# A fault step's hook: called with the running pipeline once a share of the orders is placed.
FaultHook = Callable[[Pipeline, Trial], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Roles:
    orders_db: str
    inventory_db: str
    read_model: str
    broker: str
    capture: str
    shared: bool = False  # the inventory service on the order service's database (inventory_db left unused)
    capture_url: str = ""  # with capture "cdc": the login that reads the change log (a connector's, not the run's)


@dataclass(frozen=True)
class Knobs:
    rules: SagaRules
    tuning: Tuning
    concurrency: int = 8
    rate: float = 0.0  # orders placed per second (0: closed loop, `concurrency` at a time)
    settle_s: float = 60.0
    max_deliveries: int = 3
    stock_cap: int = 0  # each product's stock at most this (0: the model's counts): makes some orders rejected
    keep: bool = False
    store_options: Mapping[str, Any] | None = None  # the run's -o store options (postgres.* for the order service)
    op_timeout_s: float = 10.0


async def run_trial(settings: Settings, data: Dataset, roles: Roles, knobs: Knobs, namespace: str,
                    fault: FaultHook | None = None, fault_at: float = 0.5,
                    child_delay_ms: float | None = None, run_id: str = "", notes: list[str] | None = None) -> Trial:
    """One trial on the run's dataset (ctx.dataset): the order service's model store of the trial's own namespace,
    prepared as the run's are (marked as run_id's for `sandbox gc`). With child_delay_ms, the read-model group runs
    in a child process (that much per delivery)."""
    registry = registry_of(settings)
    kind = registry.kind(roles.broker)
    trial = Trial(roles.broker, roles.capture, "database-per-service", {}, "", data.count, knobs.tuning.consumers,
                  knobs.rules.idempotent)
    async with AsyncExitStack() as exits:
        def closing(obj: Any, drop: bool = True) -> None:
            async def close() -> None:
                with contextlib.suppress(Exception):
                    if drop and not knobs.keep:
                        await obj.teardown()
                with contextlib.suppress(Exception):
                    await obj.close()
            exits.push_async_callback(close)

        orders = make_model_store(settings, roles.orders_db, namespace, data.model, knobs.concurrency + 4,
                                  knobs.store_options)
        closing(orders, drop=False)
        trial.servers["orders"] = str(await orders.connect())
        await prepare_all([orders], data, run_id or namespace, registry, notes if notes is not None else [])
        closing(orders)
        root = data.model.root_entity
        timed = TimedStore(orders, knobs.op_timeout_s, entity=root.name, key=root.key)
        source = registry.kind(roles.orders_db).roles["event_source"]
        outbox = source.outbox(orders)
        await outbox.create()
        capture = source.capture(orders, roles.capture_url) if roles.capture == "cdc" else None
        if capture is not None:
            exits.push_async_callback(capture.close)
        if roles.shared:  # the inventory service on the order service's own database
            inventory = source.shared_inventory(orders)
            trial.layout = "shared-database"
        else:
            inventory = registry.kind(roles.inventory_db).roles["inventory"](endpoint(settings, roles.inventory_db),
                                                                            namespace)
            closing(inventory)
        read_model = registry.kind(roles.read_model).roles["read_model"](endpoint(settings, roles.read_model),
                                                                        namespace)
        closing(read_model)
        await read_model.create()
        broker = kind.roles["broker"](endpoint(settings, roles.broker), namespace,
                                      {"max_deliveries": knobs.max_deliveries, **kind.durability.defaults()})
        closing(broker)
        trial.servers["broker"] = str(await broker.connect())
        trial.broker_setup = broker.describe()
        initial = _stock(data, knobs.stock_cap)
        await inventory.load(initial)

        ledger = trial.ledger
        pipeline: Pipeline | None = None

        async def publish(topic: str, event: Event) -> None:
            assert pipeline is not None
            await pipeline.publish(topic, event)

        services = Services(data, outbox, inventory, read_model, broker, knobs.rules, publish)
        broker_options = {"max_deliveries": knobs.max_deliveries, **kind.durability.defaults()}
        child = None if child_delay_ms is None else ChildGroup(
            {"broker": roles.broker, "broker_url": endpoint(settings, roles.broker).url,
             "broker_options": broker_options,
             "read_model": roles.read_model, "read_model_url": endpoint(settings, roles.read_model).url,
             "namespace": namespace, "idempotent": knobs.rules.idempotent, "batch": knobs.tuning.batch,
             "delay_ms": child_delay_ms}, ledger)
        pipeline = Pipeline(services, broker, outbox, capture, ledger, knobs.tuning, child)
        pipeline.orders_store = orders
        exits.push_async_callback(pipeline.stop)
        await pipeline.start()
        started = time.monotonic()
        keys: dict[str, int] = {}
        lines: dict[str, list[tuple[str, int]]] = {}
        for i, inst in enumerate(data.roots()):
            key = str(inst[data.model.root_entity.key])
            keys[key] = i
            lines[key] = [(str(it["product_id"]), int(it["quantity"])) for it in inst.get("items", [])]
        await _place(services, timed, data, trial, knobs, pipeline, fault, fault_at)
        placed = time.monotonic()

        async def outbox_empty() -> bool:
            return capture is not None or await outbox.unpublished() == 0

        trial.settled = await pipeline.settled(knobs.settle_s, outbox_empty)
        trial.drain_s = time.monotonic() - placed if trial.settled else None
        trial.elapsed_s = time.monotonic() - started
        await pipeline.stop()
        # Still held somewhere when the run stopped: then an event not applied is in flight, not lost.
        in_flight = not trial.settled or await pipeline.lag() > 0 or await outbox_empty() is False
        dead = [Event.decode(body) for body in await broker.dead_letters()]
        trial.dead_letters = len(dead)
        sources = [s.event.id for s in await outbox.events()]
        trial.reconciled = reconcile(ledger, sources, SUBSCRIPTIONS, [e.id for e in dead], in_flight,
                                     await read_model.applications())
        trial.saga = check_sagas(keys, lines, await outbox.state_of(data.model.root_entity.name, "status"),
                                 await inventory.reservations(), lambda i: knobs.rules.payment_fails(i),
                                 {e.key for e in dead}, initial, await inventory.stock(), trial.settled)
        trial.lag, trial.backlog, trial.retained = (pipeline.samples.lag, pipeline.samples.backlog,
                                                    pipeline.samples.retained)
        trial.errors = pipeline.errors
    return trial


def _stock(data: Dataset, cap: int) -> dict[str, int]:
    products = next((e for e in data.model.references if e.field("inventory_count") is not None), None)
    if products is None:
        return {}
    out = {}
    for inst in data.reference[products.name]:
        count = int(inst["inventory_count"])
        out[str(inst[products.key])] = min(count, cap) if cap else count
    return out


async def _place(services: Services, timed: TimedStore, data: Dataset, trial: Trial, knobs: Knobs,
                 pipeline: Pipeline, fault: FaultHook | None, fault_at: float) -> None:
    """Place every order (closed loop, or open loop at `rate` with latency from each intended start) through the
    order service's TimedStore (its timeout, its error counts); the fault hook runs once `fault_at` of them are
    placed, while placing goes on."""
    queue: asyncio.Queue[tuple[int, Any, float]] = asyncio.Queue(maxsize=knobs.concurrency * 4)
    fault_task: asyncio.Task[None] | None = None
    placed = 0
    trigger = max(1, int(data.count * fault_at))

    async def feed() -> None:
        t0 = time.monotonic()
        for i, inst in enumerate(data.roots()):
            intended = t0 + i / knobs.rate if knobs.rate else 0.0
            if intended:
                await asyncio.sleep(max(0.0, intended - time.monotonic()))
            await queue.put((i, inst, intended))
        for _ in range(knobs.concurrency):
            await queue.put((-1, None, 0.0))

    async def worker() -> None:
        nonlocal placed, fault_task
        while True:
            i, inst, intended = await queue.get()
            if inst is None:
                return
            start = intended or time.monotonic()
            key = str(inst[data.model.root_entity.key])
            ok, _ = await timed.call("write", functools.partial(services.place, inst, i), (key,))
            if not ok:  # the order service's database failed: the order was not placed
                stats = timed.op("write")
                pipeline._note(f"place: {stats.first_errors[-1] if stats.first_errors else 'failed'}")
                continue
            record_us(trial.place, int((time.monotonic() - start) * 1e9))
            placed += 1
            if fault is not None and fault_task is None and placed >= trigger:
                fault_task = asyncio.create_task(fault(pipeline, trial))

    await asyncio.gather(feed(), *(worker() for _ in range(knobs.concurrency)))
    if fault_task is not None:
        await fault_task


def describe_roles(roles: Roles) -> Mapping[str, str]:
    return {"orders": roles.orders_db, "inventory": roles.inventory_db, "read model": roles.read_model,
            "broker": roles.broker, "capture": roles.capture}
