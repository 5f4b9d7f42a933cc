"""After a run (and again after any recovery): what each store holds, against what its client was told.

Every order of the workload is classified per store from two facts: the folded outcome of its writes
(sandbox.measure.history.WriteOutcome, or none: never attempted) and what a full read-back of the
store finds (absent, present and equal, present and different). See docs/faults.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.measure.consistency import diff_record
from sandbox.measure.history import WriteOutcome
from sandbox.workload.model import OrderRecord

EXAMPLES = 5
READ_BACK_ATTEMPTS = 5  # a store just restarted may refuse the first connection or two
READ_BACK_PAUSE_S = 1.0


class Verdict(StrEnum):
    OK = "ok"  # acknowledged, present, equal
    LOST = "lost"  # acknowledged, absent
    DIVERGENT = "divergent"  # present with other fields than were written
    FAILED_BUT_PRESENT = "failed_but_present"  # the store answered with an error, yet the order is there
    TIMED_OUT_BUT_PRESENT = "timed_out_but_present"  # the client gave up (its caller was told "failed"); landed
    UNKNOWN_THEN_PRESENT = "unknown_then_present"  # connection broke mid-write; it landed
    UNKNOWN_THEN_ABSENT = "unknown_then_absent"  # connection broke mid-write; it did not land
    FAILED_AND_ABSENT = "failed_and_absent"  # the client saw it fail (error or timeout) and it is not there
    NOT_ATTEMPTED = "not_attempted"  # never written, not there: fine
    UNEXPECTED = "unexpected"  # there, though this run never tried to write it


# Findings: what a client relying on the answers it got would be misled by. Exit status 3.
FINDINGS = (Verdict.LOST, Verdict.DIVERGENT, Verdict.FAILED_BUT_PRESENT, Verdict.TIMED_OUT_BUT_PRESENT,
            Verdict.UNEXPECTED)
DESCRIPTIONS = {
    Verdict.OK: "acknowledged and present with the fields written",
    Verdict.LOST: "acknowledged, but absent",
    Verdict.DIVERGENT: "present with different fields",
    Verdict.FAILED_BUT_PRESENT: "the store answered with an error, yet it landed",
    Verdict.TIMED_OUT_BUT_PRESENT: "failed client-side (the client's deadline expired), yet it landed",
    Verdict.UNKNOWN_THEN_PRESENT: "outcome unknown (connection lost), resolved: present",
    Verdict.UNKNOWN_THEN_ABSENT: "outcome unknown (connection lost), resolved: absent",
    Verdict.FAILED_AND_ABSENT: "failed (error or client timeout) and absent, as the client was told",
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
    ids: dict[Verdict, set[str]] | None = None  # every id per class, only when asked for (tests, small runs)
    error: str | None = None  # the store could not be read back: nothing is classified

    def add(self, verdict: Verdict, order_id: str) -> None:
        self.counts[verdict] += 1
        shown = self.examples.setdefault(verdict, [])
        if len(shown) < EXAMPLES:
            shown.append(order_id)
        if self.ids is not None:
            self.ids.setdefault(verdict, set()).add(order_id)

    @property
    def findings(self) -> int:
        return sum(self.counts[v] for v in FINDINGS)

    @property
    def has_findings(self) -> bool:
        return self.error is not None or self.findings > 0

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


async def classify_store(store: str, expected: Mapping[str, OrderRecord], outcomes: Mapping[str, WriteOutcome],
                         found: AsyncIterator[OrderRecord], keep_ids: bool = False) -> StoreCheck:
    """Classify every expected order, and anything else the store holds, from one pass over its read-back."""
    result = StoreCheck(store, ids={} if keep_ids else None)
    seen: set[str] = set()
    async for record in found:
        if record.order_id in seen:
            continue  # a duplicate is the comparison's finding (consistency.py), not a write outcome
        seen.add(record.order_id)
        want = expected.get(record.order_id)
        differs = want is not None and bool(diff_record(want, record))
        result.add(classify_present(outcomes.get(record.order_id) if want is not None else None, differs),
                   record.order_id)
    for order_id in expected:
        if order_id not in seen:
            result.add(classify_absent(outcomes.get(order_id)), order_id)
    return result


async def check_store(store: str, expected: Mapping[str, OrderRecord], outcomes: Mapping[str, WriteOutcome],
                      scan: Callable[[], AsyncIterator[OrderRecord]], keep_ids: bool = False) -> StoreCheck:
    """Read the store back (retrying while it comes back from a restart) and classify every order."""
    last = ""
    for attempt in range(READ_BACK_ATTEMPTS):
        try:
            return await classify_store(store, expected, outcomes, scan(), keep_ids)
        except Exception as exc:  # a store that cannot be read back is reported, not a crash
            last = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            if attempt + 1 < READ_BACK_ATTEMPTS:
                await asyncio.sleep(READ_BACK_PAUSE_S)
    return StoreCheck(store, error=f"read-back failed {READ_BACK_ATTEMPTS} times: {last}")


def expected_records(records: Iterable[OrderRecord]) -> dict[str, OrderRecord]:
    return {r.order_id: r for r in records}
