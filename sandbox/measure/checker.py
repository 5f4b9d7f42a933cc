"""After a run (and again after any recovery): what each store holds, against what its client was told.

Every root instance of the run's stream is classified per store, by its key, from two facts: the folded
outcome of its writes (sandbox.measure.history.WriteOutcome, or none: never attempted) and what a full
read-back of the store finds (absent; present as written; present with other fields). The expected side is
model_compare's `Expected` (a key hash, an index and a digest of what the store keeps, per root), so the
checker's memory stays flat in the number of instances; only an instance the store does not hold as
written is regenerated, to learn its key. See docs/faults.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from sandbox.measure.history import WriteOutcome
from sandbox.measure.model_compare import CHUNK, Expected, projector
from sandbox.stores.contract import Record
from sandbox.workload.dataset import Dataset

EXAMPLES = 5
READ_BACK_ATTEMPTS = 5  # a store just restarted may refuse the first connection or two
READ_BACK_PAUSE_S = 1.0


class Verdict(StrEnum):
    OK = "ok"  # acknowledged, present, equal
    LOST = "lost"  # acknowledged, absent
    DIVERGENT = "divergent"  # present with other fields than were written
    FAILED_BUT_PRESENT = "failed_but_present"  # the store answered with an error, yet the instance is there
    TIMED_OUT_BUT_PRESENT = "timed_out_but_present"  # the client gave up (its caller was told "failed"); landed
    UNKNOWN_THEN_PRESENT = "unknown_then_present"  # connection broke mid-write; it landed
    UNKNOWN_THEN_ABSENT = "unknown_then_absent"  # connection broke mid-write; it did not land
    FAILED_AND_ABSENT = "failed_and_absent"  # the client saw it fail (error, refusal or timeout); not there
    NOT_ATTEMPTED = "not_attempted"  # never written, not there: fine
    UNEXPECTED = "unexpected"  # there, though this run never tried to write it


# Findings: what a client relying on the answers it got would be misled by. Exit status 3.
FINDINGS = (Verdict.LOST, Verdict.DIVERGENT, Verdict.FAILED_BUT_PRESENT, Verdict.TIMED_OUT_BUT_PRESENT,
            Verdict.UNEXPECTED)
PRESENT = (Verdict.OK, Verdict.DIVERGENT, Verdict.FAILED_BUT_PRESENT, Verdict.TIMED_OUT_BUT_PRESENT,
           Verdict.UNKNOWN_THEN_PRESENT, Verdict.UNEXPECTED)
DESCRIPTIONS = {
    Verdict.OK: "acknowledged and present with the fields written",
    Verdict.LOST: "acknowledged, but absent",
    Verdict.DIVERGENT: "present with different fields",
    Verdict.FAILED_BUT_PRESENT: "the store answered with an error (or refused the connection), yet it landed",
    Verdict.TIMED_OUT_BUT_PRESENT: "failed client-side (the client's deadline expired), yet it landed",
    Verdict.UNKNOWN_THEN_PRESENT: "outcome unknown (connection lost), resolved: present",
    Verdict.UNKNOWN_THEN_ABSENT: "outcome unknown (connection lost), resolved: absent",
    Verdict.FAILED_AND_ABSENT: "failed (error, refused connection or client timeout) and absent, as the client "
                               "was told",
    Verdict.NOT_ATTEMPTED: "never written and absent",
    Verdict.UNEXPECTED: "present, though never written by this run",
}


def classify_present(outcome: WriteOutcome | None, differs: bool) -> Verdict:
    if outcome is None:
        return Verdict.UNEXPECTED
    if differs:
        return Verdict.DIVERGENT
    return {
        WriteOutcome.ACKNOWLEDGED: Verdict.OK,
        WriteOutcome.CONNECTION_LOST: Verdict.UNKNOWN_THEN_PRESENT,
        WriteOutcome.TIMED_OUT: Verdict.TIMED_OUT_BUT_PRESENT,
        WriteOutcome.FAILED: Verdict.FAILED_BUT_PRESENT,
    }[outcome]


def classify_absent(outcome: WriteOutcome | None) -> Verdict:
    if outcome is None:
        return Verdict.NOT_ATTEMPTED
    return {
        WriteOutcome.ACKNOWLEDGED: Verdict.LOST,
        WriteOutcome.CONNECTION_LOST: Verdict.UNKNOWN_THEN_ABSENT,
        WriteOutcome.TIMED_OUT: Verdict.FAILED_AND_ABSENT,
        WriteOutcome.FAILED: Verdict.FAILED_AND_ABSENT,
    }[outcome]


@dataclass
class StoreCheck:
    store: str
    counts: dict[Verdict, int] = field(default_factory=lambda: dict.fromkeys(Verdict, 0))
    examples: dict[Verdict, list[str]] = field(default_factory=dict)
    ids: dict[Verdict, set[str]] | None = None  # every key per class kept (only the classes asked for)
    error: str | None = None  # the store could not be read back: nothing is classified
    keep: Collection[Verdict] = ()

    def add(self, verdict: Verdict, key: str) -> None:
        self.counts[verdict] += 1
        shown = self.examples.setdefault(verdict, [])
        if len(shown) < EXAMPLES:
            shown.append(key)
        if self.ids is not None and verdict in self.keep:
            self.ids.setdefault(verdict, set()).add(key)

    @property
    def findings(self) -> int:
        return sum(self.counts[v] for v in FINDINGS)

    @property
    def has_findings(self) -> bool:
        return self.error is not None or self.findings > 0

    @property
    def present(self) -> int:
        return sum(self.counts[v] for v in PRESENT)

    def to_json(self) -> dict[str, Any]:
        return {"error": self.error, "findings": self.findings,
                "counts": {v.value: n for v, n in self.counts.items()},
                "examples": {v.value: ids for v, ids in self.examples.items() if ids and v != Verdict.OK}}


@dataclass
class CheckReport:
    label: str  # e.g. "after write", "after recovery"
    stores: dict[str, StoreCheck] = field(default_factory=dict)

    @property
    def has_findings(self) -> bool:
        return any(s.has_findings for s in self.stores.values())

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "has_findings": self.has_findings,
                "stores": {name: s.to_json() for name, s in self.stores.items()}}


def expected_for(ds: Dataset, n: int, stores: Mapping[str, Any]) -> Expected:
    """The expected side of every store's check: roots 0..n-1, digested as each store's design keeps them."""
    return Expected(ds, n, {name: store.kept(ds.model.root) for name, store in stores.items()})


async def classify_store(name: str, expected: Expected, outcomes: Mapping[str, WriteOutcome],
                         found: AsyncIterator[Record], keep: Collection[Verdict] = (),
                         sent: int | None = None) -> StoreCheck:
    """Classify every expected root instance, and anything else the store holds, from one pass over its
    read-back (`found`: its scan of the root entity). `keep`: the classes whose every key is kept (ids).
    `sent`: the prefix of the stream this store was sent, when shorter: the rest, absent, is not attempted
    (counted without regenerating each)."""
    ds = expected.ds
    key = ds.model.root_entity.key
    result = StoreCheck(name, ids={} if keep else None, keep=tuple(keep))
    project = projector(expected.designs[name])
    digests = expected.digests[name]
    seen = np.zeros(len(expected.hashes), dtype=bool)
    batch: list[Record] = []

    def settle() -> None:
        hashes = np.fromiter((hash(r.get(key)) for r in batch), dtype=np.int64, count=len(batch))
        starts, ends = expected.positions(hashes)
        for record, start, end in zip(batch, starts.tolist(), ends.tolist(), strict=True):
            one(record, start, end)
        batch.clear()

    def one(record: Record, start: int, end: int) -> None:
        got = record.get(key)
        digest = hash(project(record))
        match = next((p for p in range(start, end) if digests[p] == digest), None)  # present as written
        if match is None:  # not as written: the same key with other fields, or a key never written
            match = next((p for p in range(start, end) if ds.root(int(expected.indexes[p]))[key] == got), None)
            if match is None:
                result.add(Verdict.UNEXPECTED, str(got))
                return
        if seen[match]:
            return  # a duplicate is the comparison's finding (model_compare), not a write outcome
        seen[match] = True
        result.add(classify_present(outcomes.get(str(got)), digests[match] != digest), str(got))

    async for record in found:
        batch.append(record)
        if len(batch) >= CHUNK:
            settle()
    if batch:
        settle()
    absent = ~seen
    if sent is not None:
        beyond = absent & (expected.indexes >= sent)
        result.counts[Verdict.NOT_ATTEMPTED] += int(beyond.sum())
        absent &= ~beyond
    for p in np.flatnonzero(absent).tolist():  # absent: regenerated, only to learn the key
        missing = str(ds.root(int(expected.indexes[p]))[key])
        result.add(classify_absent(outcomes.get(missing)), missing)
    return result


async def check_store(name: str, expected: Expected, outcomes: Mapping[str, WriteOutcome],
                      scan: Callable[[], AsyncIterator[Record]], keep: Collection[Verdict] = (),
                      sent: int | None = None) -> StoreCheck:
    """Read the store back (retrying while it comes back from a restart) and classify every root instance.
    `scan`: a fresh pass over the store's root entity each call (lambda: store.scan(root))."""
    last = ""
    for attempt in range(READ_BACK_ATTEMPTS):
        try:
            return await classify_store(name, expected, outcomes, scan(), keep, sent)
        except Exception as exc:  # a store that cannot be read back is reported, not a crash
            last = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if attempt + 1 < READ_BACK_ATTEMPTS:
                await asyncio.sleep(READ_BACK_PAUSE_S)
    return StoreCheck(name, error=f"read-back failed {READ_BACK_ATTEMPTS} times: {last}")


async def check_stores(ds: Dataset, n: int, stores: Mapping[str, Any], outcomes: Any,
                       keep: Collection[Verdict] = (), sent: Mapping[str, int] | None = None) -> dict[str, StoreCheck]:
    """Every store read back and classified against roots 0..n-1 (`outcomes`: the history's WriteOutcomes;
    `sent`: per store, the prefix of the stream it was sent, where shorter than n)."""
    expected = expected_for(ds, n, stores)
    root = ds.model.root

    def scan(store: Any) -> Callable[[], AsyncIterator[Record]]:
        return lambda: store.scan(root)

    checks = await asyncio.gather(*(check_store(name, expected, outcomes.of(name), scan(store), keep,
                                                (sent or {}).get(name))
                                    for name, store in stores.items()))
    return {c.store: c for c in checks}

