"""Do the stores hold the same data? Every root instance a store holds, checked against the generated ones.

Memory stays flat in the number of instances: the expected side is one pass over the generated roots
that keeps, per root, a 64-bit hash of its key, its index and one 64-bit digest per store design (what
that store keeps of it) in numpy arrays - 8 bytes each, sorted by key hash - plus the expected rows of
the model's checked aggregates. A scanned record whose digest matches is right; only a record that does
not match is regenerated from its index, to say which field differs. Hashes are Python's, consistent
within the process that builds and uses them, which is all they need to be.

The expected side is the generated roots, or instances given (what a client was told it stored: the write
strategies' acknowledged states, held in memory).
"""

from __future__ import annotations

from array import array
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sandbox.stores.contract import Kept, NotAnswerable, Params, Record
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.oracle import Accumulator, compare_rows
from sandbox.workload.schema import Pattern

EXAMPLES = 5
CHUNK = 2000


def projector(kept: Kept) -> Callable[[Mapping[str, Any]], tuple]:
    """What a store keeps of an instance, as a hashable tuple (children in position order)."""
    fields, children = tuple(kept.fields), tuple(kept.children.items())

    def project(x: Mapping[str, Any]) -> tuple:
        out = tuple(x.get(f) for f in fields)
        if children:
            out += tuple(tuple(tuple(c.get(f) for f in cf) for c in x.get(coll) or ()) for coll, cf in children)
        return out
    return project


class Expected:
    """The expected side of every store's comparison, built in one pass over roots 0..n-1."""

    def __init__(self, ds: Dataset, n: int, designs: Mapping[str, Kept], checked: Sequence[Pattern] = (),
                 prefixes: Sequence[int] = (), instances: Sequence[Instance] | None = None):
        """prefixes: the shorter lengths some stores were written (a duration-limited run): their checked
        aggregates are expected over that prefix. instances: the expected roots (n of them), instead of the
        generated ones."""
        self.ds, self.n = ds, n
        self.given = instances
        self.designs = dict(designs)
        key = ds.model.root_entity.key
        projectors = {name: projector(k) for name, k in designs.items()}
        hashes, indexes = array("q"), array("q")
        digests = {name: array("q") for name in designs}
        limits = sorted({n, *(min(p, n) for p in prefixes)})
        self.accumulators = {(p.name, limit): Accumulator(p) for p in checked for limit in limits}
        for i, inst in enumerate(ds.roots(0, n) if instances is None else instances[:n]):
            hashes.append(hash(inst[key]))
            indexes.append(i)
            for name, project in projectors.items():
                digests[name].append(hash(project(inst)))
            for (_, limit), acc in self.accumulators.items():
                if i < limit:
                    acc.add(inst)
        order = np.argsort(np.frombuffer(hashes, dtype=np.int64), kind="stable")
        self.hashes = np.frombuffer(hashes, dtype=np.int64)[order]
        self.indexes = np.frombuffer(indexes, dtype=np.int64)[order]
        self.digests = {name: np.frombuffer(d, dtype=np.int64)[order] for name, d in digests.items()}

    def instance(self, index: int) -> Instance:
        """Expected root `index` (made again from the seed, or the one given)."""
        return self.ds.root(index) if self.given is None else self.given[index]

    def positions(self, key_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each hash, the [start, end) of its run in the sorted arrays (empty when absent)."""
        return (np.searchsorted(self.hashes, key_hashes, side="left"),
                np.searchsorted(self.hashes, key_hashes, side="right"))


@dataclass(frozen=True)
class FieldDiff:
    key: str
    field: str
    expected: str
    got: str


@dataclass
class ModelComparison:
    store: str
    entity: str
    held: int = 0
    missing: int = 0
    missing_examples: list[str] = field(default_factory=list)
    extra: int = 0
    extra_examples: list[str] = field(default_factory=list)
    duplicates: int = 0
    differing: int = 0
    differing_examples: list[FieldDiff] = field(default_factory=list)
    differing_keys: list[str] = field(default_factory=list)  # as many as compare_store was asked to list
    fields_compared: tuple[str, ...] = ()
    aggregates: dict[str, list[str]] = field(default_factory=dict)  # checked pattern -> verdict per group
    not_answerable: dict[str, str] = field(default_factory=dict)  # checked pattern -> why the store cannot
    counted: dict[str, int] = field(default_factory=dict)  # checked pattern -> instances its answer counts in all
    check_violations: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def aggregates_ok(self) -> bool:
        return all(v in ("ok", "drift") for verdicts in self.aggregates.values() for v in verdicts)

    @property
    def consistent(self) -> bool:
        return (self.error is None and not self.missing and not self.extra and not self.duplicates
                and not self.differing and self.aggregates_ok and not any(self.check_violations.values()))

    def to_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "entity": self.entity, "held": self.held, "error": self.error,
                "missing": self.missing, "missing_examples": self.missing_examples,
                "extra": self.extra, "extra_examples": self.extra_examples, "duplicates": self.duplicates,
                "differing": self.differing, "differing_examples": [vars(d) for d in self.differing_examples],
                "fields_compared": list(self.fields_compared), "aggregates": self.aggregates,
                "not_answerable": self.not_answerable, "check_violations": self.check_violations}


async def compare_store(name: str, store: Any, expected: Expected, design: str, written: int | None = None,
                        keys: int | None = EXAMPLES) -> ModelComparison:
    """One store's scan of the root against the expected side; `written`: the prefix of the stream it was sent;
    `keys`: how many keys missing, extra and differing to list (None: every one)."""
    ds = expected.ds
    root = ds.model.root_entity
    kept: Kept = expected.designs[design]
    result = ModelComparison(name, root.name, fields_compared=(*kept.fields, *kept.children))
    limit = expected.n if written is None else written
    seen = np.zeros(len(expected.hashes), dtype=bool)
    project = projector(kept)
    digests = expected.digests[design]
    checks = [(c.name, c.expr.compile()) for c in root.checks if c.expr.names <= set(kept.fields)]
    result.check_violations = {name: 0 for name, _ in checks}
    batch: list[Record] = []

    def settle() -> None:
        hashes = np.fromiter((hash(r.get(root.key)) for r in batch), dtype=np.int64, count=len(batch))
        starts, ends = expected.positions(hashes)
        for record, start, end in zip(batch, starts.tolist(), ends.tolist(), strict=True):
            _one(record, start, end)
        batch.clear()

    def _one(record: Record, start: int, end: int) -> None:
        result.held += 1
        for check, fn in checks:
            try:
                ok = bool(fn(record, None))
            except Exception:
                ok = False
            result.check_violations[check] += not ok
        digest = hash(project(record))
        candidates = [p for p in range(start, end) if expected.indexes[p] < limit]
        for p in candidates:
            if digests[p] == digest:
                if seen[p]:
                    result.duplicates += 1
                seen[p] = True
                return
        same_key = [p for p in candidates
                    if expected.instance(int(expected.indexes[p]))[root.key] == record.get(root.key)]
        if not same_key:
            result.extra += 1
            if keys is None or len(result.extra_examples) < keys:
                result.extra_examples.append(str(record.get(root.key)))
            return
        p = same_key[0]
        if seen[p]:
            result.duplicates += 1
        seen[p] = True
        result.differing += 1
        if keys is None or len(result.differing_keys) < keys:
            result.differing_keys.append(str(record.get(root.key)))
        if len(result.differing_examples) < 50:
            result.differing_examples += diff(expected.instance(int(expected.indexes[p])), record, kept, root.key)

    try:
        async for record in _records(store, root.name):
            batch.append(record)
            if len(batch) >= CHUNK:
                settle()
        if batch:
            settle()
    except Exception as exc:  # a store that cannot be read back is a finding, not a crash
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    unseen = np.flatnonzero(~seen & (expected.indexes < limit))
    result.missing = len(unseen)
    result.missing_examples = sorted(str(expected.instance(int(expected.indexes[p]))[root.key])
                                     for p in (unseen if keys is None else unseen[:keys]))
    await _aggregates(store, expected, root.name, limit, result)
    return result


def _records(store: Any, entity: str) -> AsyncIterator[Record]:
    return store.scan(entity)


async def _aggregates(store: Any, expected: Expected, entity: str, limit: int, result: ModelComparison) -> None:
    e = expected.ds.model.entity(entity)
    for (name, upto), acc in expected.accumulators.items():
        if upto != limit:
            continue
        answerer = store.answer(acc.pattern)
        if isinstance(answerer, NotAnswerable):
            result.not_answerable[name] = answerer.reason
            continue
        scales = [e.field(f).type.scale if e.field(f).type.kind == "decimal" else None  # type: ignore[union-attr]
                  for f in acc.pattern.sums]
        try:
            rows = await answerer(Params())
            result.counted[name] = sum(r.count for r in rows)
            result.aggregates[name] = compare_rows(acc.rows(), rows, scales)
        except Exception as exc:
            result.aggregates[name] = [f"not read: {type(exc).__name__}: {exc}"[:200]]


def diff(want: Instance, got: Record, kept: Kept, key: str) -> list[FieldDiff]:
    """The kept fields that differ (money by value), children field by field in position order."""
    out = []
    for f in kept.fields:
        if got.get(f) != want.get(f):
            out.append(FieldDiff(str(want[key]), f, str(want.get(f)), str(got.get(f))))
    for coll, fields in kept.children.items():
        w, g = want.get(coll) or [], got.get(coll) or []
        if len(w) != len(g):
            out.append(FieldDiff(str(want[key]), f"{coll} (count)", str(len(w)), str(len(g))))
            continue
        for pos, (a, b) in enumerate(zip(w, g, strict=True)):
            out += [FieldDiff(str(want[key]), f"{coll}[{pos}].{f}", str(a.get(f)), str(b.get(f)))
                    for f in fields if a.get(f) != b.get(f)]
    return out
