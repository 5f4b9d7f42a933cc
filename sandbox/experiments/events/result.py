"""What an events run keeps: one trial per (broker, way out of the database), each with its ledger's hops, the
reconciliation of every event id, how the sagas ended, and the lag / outbox / WAL samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.event_ledger import Ledger, Reconciled
from sandbox.measure.latency import encode, new_histogram, summarize
from sandbox.measure.saga_check import SagaCheck


@dataclass
class Trial:
    broker: str
    capture: str  # outbox | cdc
    layout: str  # database-per-service | shared-database
    servers: dict[str, str]  # role -> the server as it reports itself
    broker_setup: str
    orders: int
    consumers: int
    idempotent: bool
    ledger: Ledger = field(default_factory=Ledger)
    place: HdrHistogram = field(default_factory=new_histogram)  # the order service's write + outbox, per order
    reconciled: Reconciled = field(default_factory=Reconciled)
    saga: SagaCheck = field(default_factory=SagaCheck)
    settled: bool = False
    elapsed_s: float = 0.0
    drain_s: float | None = None  # from the last order placed until every group had applied everything
    dead_letters: int = 0
    lag: list[tuple[float, int]] = field(default_factory=list)
    backlog: list[tuple[float, int]] = field(default_factory=list)
    retained: list[tuple[float, int]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)  # what was done, and what it showed
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        shared = "" if self.layout == "database-per-service" else f" / {self.layout}"
        return f"{self.broker} / {self.capture}{shared}"

    @property
    def findings(self) -> list[str]:
        out = []
        lost = self.reconciled.counts.get("lost", 0)
        if lost:
            out.append(f"events {self.label}: {lost} event(s) lost, e.g. "
                       f"{'; '.join(self.reconciled.examples.get('lost', []))}")
        return out + [f"events {self.label}: {f}" for f in self.saga.findings]

    def to_json(self) -> dict[str, Any]:
        applied = sum(self.ledger.applied.values())
        return {
            "broker": self.broker, "capture": self.capture, "layout": self.layout, "servers": self.servers,
            "broker_setup": self.broker_setup, "orders": self.orders, "consumers": self.consumers,
            "idempotent": self.idempotent, "settled": self.settled, "elapsed_s": round(self.elapsed_s, 3),
            "drain_s": None if self.drain_s is None else round(self.drain_s, 3),
            "published": sum(self.ledger.published.values()), "delivered": sum(self.ledger.delivered.values()),
            "applied": applied, "throughput": self.ledger.throughput(applied),
            "retried": dict(self.ledger.retried), "dead_lettered": dict(self.ledger.dead),
            "dead_letters": self.dead_letters,
            "ordering_violations": dict(self.ledger.violations),
            "ordering_examples": self.ledger.violation_examples,
            "hops": self.ledger.hop_summary(),
            "hop_histograms": {h: encode(hist) for h, hist in self.ledger.hops.items()},
            "place_ms": summarize(self.place), "place_n": self.place.get_total_count(),
            "group_apply_ms": {g: summarize(h) for g, h in self.ledger.group_apply.items()},
            "reconciled": self.reconciled.to_json(), "saga": self.saga.to_json(),
            "lag": self.lag, "backlog": self.backlog, "retained_wal": self.retained,
            "faults": self.faults, "errors": self.errors,
        }


@dataclass
class EventsRun:
    trials: list[Trial] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"trials": [t.to_json() for t in self.trials]}
