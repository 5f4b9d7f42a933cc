"""Runs a workload mix against stores: each operation of the seeded stream becomes one timed store call.

Every store is sent the same operation stream, each at its own pace (like the write driver). A store
without the capability an operation needs is left out of that operation (counted, never faked): InfluxDB
is append-only, so it takes no updates and keeps no stock.

Order ids are looked up in `OrderIds` (16 bytes per order), filled while the data set is loaded: the
generator derives an id only by generating its whole order.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from itertools import islice

from sandbox.measure.history import StatusUpdate, StockTake, UpdateLog
from sandbox.measure.load import LoadPlan, LoadResult, drive, gather_all
from sandbox.measure.saturation import ClientLoad, CpuMeter, client_load
from sandbox.measure.timing import TimedStore
from sandbox.stores.base import Capability, Store
from sandbox.workload.generator import EPOCH, Workload
from sandbox.workload.mix import MixSpec
from sandbox.workload.operations import Operation, OperationStream, scan_window_ms

NEEDS = {"update": Capability.STATUS_UPDATE, "rmw": Capability.STATUS_UPDATE, "decrement": Capability.STOCK,
         "place": Capability.STOCK, "latest": Capability.CUSTOMER_LATEST, "scan": Capability.TIME_RANGE}


class OrderIds:
    """The ids of orders 0..n-1 of a workload, compact: filled in order as the orders are generated."""

    def __init__(self) -> None:
        self._raw = bytearray()

    def __len__(self) -> int:
        return len(self._raw) // 16

    def append(self, order_id: str) -> None:
        self._raw += uuid.UUID(order_id).bytes

    def __getitem__(self, index: int) -> str:
        return str(uuid.UUID(bytes=bytes(self._raw[index * 16:index * 16 + 16])))


def supports(store: Store, kind: str) -> bool:
    need = NEEDS.get(kind)
    return need is None or need in store.capabilities


@dataclass
class MixOutcome:
    """One store's run of a mix, besides its histograms."""

    elapsed_s: float
    operations: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # operation name -> not sent (no capability)
    inserted: int = 0  # orders the stream added (indexes loaded .. loaded + inserted - 1)
    not_found: int = 0  # reads by id that found no order
    client: ClientLoad | None = None


class _Calls:
    """Turns operations into store calls for one store; the history (if any) is told what each asked."""

    def __init__(self, ts: TimedStore, workload: Workload, ids: OrderIds, loaded: int, log: UpdateLog | None):
        self.ts, self.store, self.workload, self.ids, self.loaded, self.log = ts, ts.store, workload, ids, loaded, log
        self.not_found = 0  # reads by id that found no order

    def order_id(self, index: int) -> str:
        if index >= len(self.ids):  # an order inserted during the run by an earlier operation of the stream
            while len(self.ids) <= index:
                self.ids.append(self.workload.order(len(self.ids)).id)
        return self.ids[index]

    def prepare(self, op: Operation) -> Callable[[int, int], Awaitable[object]]:
        """Called in stream order as operations are taken, so ids of inserted orders exist in time."""
        ts, store, name = self.ts, self.store, op.name
        if op.kind in ("insert", "place"):
            order = self.workload.order(op.index)
            if op.status is not None and order.status != op.status:
                order = replace(order, status=op.status)
            self.order_id(op.index)
            if op.kind == "insert":
                return lambda i, b: ts.call(name, lambda: store.write(order), (order.id,), i, b,
                                            StatusUpdate(order.id, order.status.value, 1))
            take = StockTake(order.id, tuple((item.product_id, item.quantity) for item in order.items))

            async def place(i: int, b: int) -> object:
                ok, _ = await ts.call(name, lambda: store.write(order), (order.id,), i, b,
                                      StatusUpdate(order.id, order.status.value, 1))
                if ok:  # the stock is taken for an order the shop has; a failed order takes none
                    await ts.call("decrement", lambda: store.take_stock(take.items), (order.id,), value=take)
                return ok
            return place
        if op.kind == "read":
            order_id = self.order_id(op.index)

            async def read(i: int, b: int) -> None:
                ok, record = await ts.call(name, lambda: store.read(order_id), (order_id,), i, b)
                if ok and record is None:  # not there (yet): an insert still on its way, or lost
                    self.not_found += 1
            return read
        if op.kind in ("update", "rmw"):
            order_id = self.order_id(op.index)
            assert op.status is not None
            if self.log is not None and op.version == 2 and op.index < self.loaded:
                self.log.note_preloaded(order_id, self.workload.order(op.index).status.value)
            value = StatusUpdate(order_id, op.status.value, op.version)
            if op.kind == "update":
                return lambda i, b: ts.call(name, lambda: store.update_status(order_id, value.status, value.version),
                                            (order_id,), i, b, value)

            async def rmw() -> bool:  # YCSB F: read, then write back (the version makes it safe)
                await store.read(order_id)
                return await store.update_status(order_id, value.status, value.version)
            return lambda i, b: ts.call(name, rmw, (order_id,), i, b, value)
        if op.kind == "decrement":
            order = self.workload.order(op.index)
            take = StockTake(order.id, tuple((item.product_id, item.quantity) for item in order.items))
            return lambda i, b: ts.call(name, lambda: store.take_stock(take.items), (order.id,), i, b, take)
        if op.kind == "scan":
            start_ms, end_ms = scan_window_ms(op, self.workload.spec.spacing_ms)
            start, end = EPOCH + timedelta(milliseconds=start_ms), EPOCH + timedelta(milliseconds=end_ms)
            return lambda i, b: ts.call(name, lambda: store.orders_between(start, end, op.span), (), i, b)
        customer = self.workload.catalog.customers[op.index].id  # latest / browse
        return lambda i, b: ts.call(name, lambda: store.latest_orders(customer, op.span), (), i, b)


async def run_mix(ts: TimedStore, workload: Workload, mix: MixSpec, loaded: int, seed: int, plan: LoadPlan,
                  ids: OrderIds, operations: int | None = None, log: UpdateLog | None = None,
                  meter: CpuMeter | None = None, version_floor: int = 0) -> MixOutcome:
    """Send `operations` of the mix's stream (or until `plan.duration_s` ends) to one store under `plan`."""
    calls = _Calls(ts, workload, ids, loaded, log)
    outcome = MixOutcome(0.0)
    meter = meter or CpuMeter()

    stream = OperationStream(workload, mix, loaded, seed, version_floor)

    def work() -> Iterator[Callable[[int, int], Awaitable[object]]]:
        for op in islice(stream, operations):
            if not supports(ts.store, op.kind):
                outcome.left_out[op.name] = outcome.left_out.get(op.name, 0) + 1
                if op.kind in ("insert", "place"):
                    calls.order_id(op.index)  # later operations address it by index
                continue
            outcome.operations += 1
            yield calls.prepare(op)

    def started(result: LoadResult) -> None:
        ts.measure_from_ns = result.measure_from_ns

    # drive() awaits the prepared call's own coroutine: no wrapper coroutine per operation (the hot loop).
    result = await drive(work(), lambda call, intended_ns, begun_ns: call(intended_ns, begun_ns), plan, started)
    outcome.elapsed_s = result.measured_s
    outcome.inserted = stream.count - loaded
    outcome.not_found = calls.not_found
    outcome.client = client_load(plan, result, meter)
    return outcome


async def run_mix_everywhere(stores: list[TimedStore], workload: Workload, mix: MixSpec, loaded: int, seed: int,
                             plan: LoadPlan, ids: OrderIds, operations: int | None = None,
                             log: UpdateLog | None = None) -> dict[str, MixOutcome]:
    """The same stream to every store, concurrently, each at its own pace."""
    meter = CpuMeter()
    done = await gather_all(*(run_mix(ts, workload, mix, loaded, seed, plan, ids, operations, log, meter)
                              for ts in stores))
    return {ts.name: outcome for ts, outcome in zip(stores, done, strict=True)}

