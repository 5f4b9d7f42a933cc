"""What a read pattern must answer, computed from the generated instances: the yardstick stores are held to.

Used by the tests on small data sets and by the comparison for `check = true` aggregates (streamed,
exact). `agrees` judges a store's answer: a find or search with a limit may return any `limit` of the
matches, so it must hold only matches and as many as there are up to the limit; an ordered range must be
the expected list; an aggregate must match group by group, exactly where decimals are kept exactly and
within float drift (below half a unit of the last place) where a store sums in floats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.workload.dataset import Instance
from sandbox.workload.params import AggregateRow, Params
from sandbox.workload.schema import Entity, Pattern

TOKEN = re.compile(r"[A-Za-z0-9]+")


def bucket_start(at: Any, every_ms: int) -> Any:
    from datetime import UTC, datetime, timedelta

    ms = int(at.timestamp() * 1000) // every_ms * every_ms
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def matches(p: Pattern, params: Params, inst: Mapping[str, Any]) -> bool:
    for f, want in params.values.items():
        if isinstance(want, list):
            if inst[f] not in want:
                return False
        elif inst[f] != want:
            return False
    if params.window is not None and p.range is not None:
        low, high = params.window
        if not low <= inst[p.range] < high:
            return False
    if p.kind == "search":
        return (params.word or "").lower() in {t.lower() for t in TOKEN.findall(str(inst[p.field or ""]))}
    return p.filter is None or bool(p.filter.compile()(inst, None))


def expected_keys(p: Pattern, e: Entity, params: Params, instances: Iterable[Instance]) -> list[Any]:
    hits = [inst for inst in instances if matches(p, params, inst)]
    if p.order_by is not None:
        hits.sort(key=lambda x: (x[p.order_by], x[e.key]), reverse=p.descending)  # type: ignore[index]
    return [h[e.key] for h in hits]


@dataclass
class Accumulator:
    """An aggregate's expected rows, built one instance at a time (the comparison streams every instance)."""

    pattern: Pattern

    def __post_init__(self) -> None:
        self.groups: dict[tuple, list] = {}

    def add(self, inst: Mapping[str, Any], params: Params | None = None) -> None:
        p = self.pattern
        if params is not None and not matches(p, params, inst):
            return
        key = tuple([bucket_start(inst[p.bucket.field], p.bucket.every_ms)] if p.bucket else []) + \
            tuple(inst[f] for f in p.group_by)
        row = self.groups.get(key)
        if row is None:
            row = self.groups[key] = [0, [0] * len(p.sums), [0] * len(p.avgs)]
        row[0] += 1
        for i, f in enumerate(p.sums):
            row[1][i] += inst[f]
        for i, f in enumerate(p.avgs):
            row[2][i] += inst[f]

    def rows(self) -> list[AggregateRow]:
        return [AggregateRow(k, c, tuple(s), tuple(float(a) / c for a in avg))
                for k, (c, s, avg) in sorted(self.groups.items(), key=lambda kv: tuple(map(str, kv[0])))]


def expected_rows(p: Pattern, params: Params | None, instances: Iterable[Instance]) -> list[AggregateRow]:
    acc = Accumulator(p)
    for inst in instances:
        acc.add(inst, params)
    return acc.rows()


def _close(want: Any, got: Any, scale: int | None) -> str:
    """ok | drift | mismatch for one figure."""
    if got == want:
        return "ok"
    try:
        diff = abs(Decimal(str(got)) - Decimal(str(want)))
    except Exception:
        return "mismatch"
    if scale is not None:
        return "drift" if diff < Decimal(1).scaleb(-scale) / 2 else "mismatch"
    return "drift" if diff <= abs(Decimal(str(want))) * Decimal("1e-9") + Decimal("1e-9") else "mismatch"


def compare_rows(want: Sequence[AggregateRow], got: Sequence[AggregateRow], scales: Sequence[int | None]) -> list[str]:
    """Per group: "ok", "drift" or a line saying what differs; a missing or extra group is a difference."""
    def norm(k: tuple) -> tuple:
        return tuple(str(x) for x in k)

    by_key = {norm(r.group): r for r in got}
    out = []
    for w in want:
        g = by_key.pop(norm(w.group), None)
        if g is None:
            out.append(f"group {w.group} missing")
            continue
        if g.count != w.count:
            out.append(f"group {w.group}: count {g.count} != {w.count}")
            continue
        verdicts = [_close(a, b, s) for a, b, s in zip(w.sums, g.sums, scales, strict=False)]
        verdicts += [_close(a, b, None) for a, b in zip(w.avgs, g.avgs, strict=False)]
        bad = [i for i, v in enumerate(verdicts) if v == "mismatch"]
        out.append(f"group {w.group}: figure {bad[0]} {list(g.sums) + list(g.avgs)} != "
                   f"{list(w.sums) + list(w.avgs)}" if bad else "drift" if "drift" in verdicts else "ok")
    out += [f"group {r.group} extra" for r in by_key.values()]
    return out


def agrees(p: Pattern, e: Entity, params: Params, answer: Any, instances: Sequence[Instance]) -> str | None:
    """None when a find / range / search answer is right, else what is wrong."""
    want = expected_keys(p, e, params, instances)
    got = list(answer)
    if p.order_by is not None and p.kind == "range":
        return None if got == want[:p.limit] else f"expected {want[:p.limit][:5]}…, got {got[:5]}…"
    allowed = set(want)
    if stray := [k for k in got if k not in allowed]:
        return f"{len(stray)} keys that do not match, e.g. {stray[0]!r}"
    if len(set(got)) != min(len(allowed), p.limit):
        return f"{len(set(got))} keys, expected {min(len(allowed), p.limit)}"
    return None
