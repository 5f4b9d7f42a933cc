"""What every write strategy offers the scenario that compares them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from hdrh.histogram import HdrHistogram

from sandbox.measure.timing import TimedStore
from sandbox.workload.dataset import Instance
from sandbox.workload.schema import Model


@dataclass(frozen=True)
class StrategyOptions:
    seed: int
    concurrency: int = 8
    payment_failure_rate: float = 0.1  # saga: share of payments the payment step declines
    relay_workers: int = 2  # outbox: relay workers sharing the outbox with FOR UPDATE SKIP LOCKED
    relay_batch: int = 100  # outbox rows / events handled per relay or projection batch
    deliver_concurrency: int = 8  # upserts in flight per store within one batch
    idle_poll_s: float = 0.5  # how long a relay or projection sleeps when nothing new arrived (or no NOTIFY)
    retry_backoff_s: float = 0.25  # first pause after a failed delivery; doubles up to 2 s
    source: str = "none"  # the store playing the source of truth (a kind with that role), for those that need one
    order: tuple[str, ...] = ()  # the registry's order of store kinds: sequential writers follow it


class Strategy:
    """How an application gets one root instance (an order, on the orders model) into the stores of a run.

    place() returns the instance state the client was told is stored (its acknowledgement), or None when
    the client saw a failure. Store errors never escape: they are what the strategies are compared on.

    A subclass declares what the run must offer it; sandbox.strategies.registry checks the names, the model and
    the source of truth before any store is connected, and which stores can come along (target_needs) once
    the run's model stores are made, so a run that cannot work stops with one line instead of failing half-way.
    """

    name: ClassVar[str]  # what --strategies and scenario files call it
    tag: ClassVar[str]  # short suffix of the strategy's namespaces: sbx_<run>_<tag>
    description: ClassVar[str]  # one line: how it writes (`sandbox scenarios` lists it)
    needs_source: ClassVar[bool] = False  # commits to a source of truth first (the run names it: `source`)
    converges: ClassVar[bool] = False  # promises every store converges after a fault (else: not a finding)
    # Capability protocols of stores/contract.py every store in targets() must offer (e.g. Upsert for anything
    # fed by a relay); a store without them is left out of this strategy, saying so.
    target_needs: ClassVar[tuple[type, ...]] = ()
    # The model whose meaning it needs (event sourcing's and the saga's order lifecycle); None: any model's root.
    needs_model: ClassVar[str | None] = None

    @classmethod
    def targets(cls, stores: Iterable[str], source: str = "none") -> tuple[str, ...]:
        """The stores it brings along from its source of truth (every store, when it has none)."""
        return tuple(s for s in stores if not cls.needs_source or s != source)

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions, model: Model):
        self.stores = stores
        self.options = options
        self.model = model
        self.key = model.root_entity.key

    async def start(self) -> None:
        """Create the strategy's own tables and start its background workers."""

    async def place(self, instance: Instance, index: int) -> Instance | None:
        """Save one root instance the strategy's way; the acknowledged state, or None on a client-visible failure."""
        raise NotImplementedError

    async def settle(self, timeout_s: float) -> bool:
        """Wait until background work (relay, projections) has caught up; False if it did not in time."""
        return True

    async def stop(self) -> None:
        """Stop background workers and close the strategy's own connections."""

    async def verify(self) -> dict[str, Any]:
        """Strategy-specific checks after the run has settled (the saga's inventory check)."""
        return {}

    def lag(self) -> dict[str, HdrHistogram]:
        """Per store: commit in the source of truth to visible in that store (empty when synchronous)."""
        return {}

    def details(self) -> dict[str, Any]:
        """Strategy-specific figures for the report (backlog, retries, saga outcomes, ...)."""
        return {}
