"""Every event accounted for: what each hop saw of each event id, and the reconciliation after a run.

The ledger is filled where each hop happens (the relay or change capture, each publisher, each consumer group)
and holds the per-hop latencies as HdrHistograms: commit -> captured (the outbox relay's claim, or the slot's
decoding), captured -> confirmed by the broker, published -> received by a consumer, received -> applied (the
handler's effect done and acked), and commit -> applied end to end. Per key it keeps the highest sequence number
each group has applied, so an older event applied after a newer one of the same key is an ordering violation.

`reconcile` classifies each event id a group should have applied: applied once, duplicated (delivered again,
whether or not its effect was applied again), dead-lettered, still in flight (a broker or outbox still holds
some), or lost (published or committed, never applied, and held nowhere any more).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.latency import new_histogram, record_us, summarize

HOPS = ("capture", "publish", "deliver", "apply", "end_to_end")
EXAMPLES = 3


@dataclass
class Ledger:
    hops: dict[str, HdrHistogram] = field(default_factory=lambda: {h: new_histogram() for h in HOPS})
    published: Counter[str] = field(default_factory=Counter)  # event id -> confirmed publishes
    delivered: Counter[tuple[str, str]] = field(default_factory=Counter)  # (group, event id) -> deliveries
    applied: Counter[tuple[str, str]] = field(default_factory=Counter)  # (group, event id) -> handled and acked
    retried: Counter[str] = field(default_factory=Counter)  # group -> deliveries given back after a failure
    dead: Counter[str] = field(default_factory=Counter)  # group -> deliveries sent to the dead letters
    violations: Counter[str] = field(default_factory=Counter)  # group -> events applied after a newer of their key
    violation_examples: list[str] = field(default_factory=list)
    topic_of: dict[str, str] = field(default_factory=dict)  # event id -> topic
    group_apply: dict[str, HdrHistogram] = field(default_factory=dict)  # group -> received -> applied
    first_commit: float | None = None
    last_applied: float | None = None
    _newest: dict[tuple[str, str], int] = field(default_factory=dict)  # (group, key) -> highest seq applied

    def hop(self, name: str, seconds: float) -> None:
        record_us(self.hops[name], int(max(seconds, 0.0) * 1e9))

    def captured(self, committed: float, at: float) -> None:
        self.first_commit = committed if self.first_commit is None else min(self.first_commit, committed)
        self.hop("capture", at - committed)

    def confirmed(self, topic: str, event_id: str, times: Mapping[str, float], at: float) -> None:
        self.published[event_id] += 1
        self.topic_of[event_id] = topic
        if "capture" in times:
            self.hop("publish", at - times["capture"])

    def received(self, group: str, event_id: str, times: Mapping[str, float], at: float) -> None:
        self.delivered[(group, event_id)] += 1
        if "publish" in times:
            self.hop("deliver", at - times["publish"])

    def done(self, group: str, event_id: str, key: str, seq: int, times: Mapping[str, float], received: float,
             at: float) -> None:
        self.applied[(group, event_id)] += 1
        self.last_applied = at if self.last_applied is None else max(self.last_applied, at)
        self.hop("apply", at - received)
        if group not in self.group_apply:
            self.group_apply[group] = new_histogram()
        record_us(self.group_apply[group], int(max(at - received, 0.0) * 1e9))
        if "commit" in times:
            self.hop("end_to_end", at - times["commit"])
        newest = self._newest.get((group, key), 0)
        if seq < newest:
            self.violations[group] += 1
            if len(self.violation_examples) < EXAMPLES:
                self.violation_examples.append(f"{group}: {key[:8]} seq {seq} applied after seq {newest}")
        else:
            self._newest[(group, key)] = seq

    def throughput(self, applied: int) -> float | None:
        if self.first_commit is None or self.last_applied is None or self.last_applied <= self.first_commit:
            return None
        return applied / (self.last_applied - self.first_commit)

    def hop_summary(self) -> dict[str, Any]:
        return {h: {"n": self.hops[h].get_total_count(), **summarize(self.hops[h])} for h in HOPS}


@dataclass
class Reconciled:
    """Per event id (and group): how it ended."""

    counts: Counter[str] = field(default_factory=Counter)  # applied | duplicated | dead-lettered | in flight | lost
    examples: dict[str, list[str]] = field(default_factory=dict)
    duplicates_delivered: int = 0  # deliveries beyond the first, over all groups
    duplicates_applied: int = 0  # effects applied more than once (the read model's own count)
    expected: int = 0  # (event, group) pairs that should be applied

    def note(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES:
            shown.append(text)

    def to_json(self) -> dict[str, Any]:
        return {"expected": self.expected, "counts": dict(self.counts), "examples": self.examples,
                "duplicates_delivered": self.duplicates_delivered, "duplicates_applied": self.duplicates_applied}


def reconcile(ledger: Ledger, sources: Iterable[str], subscriptions: Mapping[str, Iterable[str]],
              dead_ids: Iterable[str], in_flight: bool, applications: Mapping[str, int] | None = None) -> Reconciled:
    """Classify each (event, group) a group should have applied.

    sources: the ids the source database committed (its outbox); every id the ledger saw published counts too.
    subscriptions: topic -> the groups reading it. dead_ids: ids in the dead letters. in_flight: whether a broker
    or an outbox still held undelivered events when the run stopped (then an unapplied event is in flight, not
    lost). applications: event id -> effects applied by the read model (for duplicates applied)."""
    out = Reconciled()
    dead = set(dead_ids)
    ids = dict.fromkeys([*sources, *ledger.published])
    for event_id in ids:
        topic = ledger.topic_of.get(event_id)
        if topic is None:  # committed, never published
            kind = "in flight" if in_flight else "lost"
            out.expected += 1
            out.note(kind, f"{event_id[:8]}: committed, never published")
            continue
        for group in subscriptions.get(topic, ()):
            out.expected += 1
            got, done = ledger.delivered[(group, event_id)], ledger.applied[(group, event_id)]
            out.duplicates_delivered += max(0, got - 1)
            if event_id in dead and done == 0:
                out.note("dead-lettered", f"{event_id[:8]} ({topic} -> {group}): dead-lettered")
            elif done == 0:
                kind = "in flight" if in_flight else "lost"
                out.note(kind, f"{event_id[:8]} ({topic} -> {group}): published {ledger.published[event_id]}x, "
                               f"delivered {got}x, never applied")
            elif got > 1 or done > 1:
                out.note("duplicated", f"{event_id[:8]} ({topic} -> {group}): delivered {got}x, handled {done}x")
            else:
                out.counts["applied"] += 1
    out.duplicates_applied = sum(n - 1 for n in (applications or {}).values() if n > 1)
    return out


def now() -> float:
    """Wall-clock seconds: hops compare the database's commit time with the client's, on one host."""
    return time.time()
