"""What one model store (a node: a promoted replica, a resharded cluster) holds, against what its clients were
told: every root instance written classified from its folded write outcome and the store's own scan
(checker.py's verdicts: lost, divergent, failed but present, unexpected...), the fields the store keeps
compared with those written; instances the scan lists twice are counted apart."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from sandbox.measure.checker import READ_BACK_ATTEMPTS, READ_BACK_PAUSE_S, StoreCheck, classify_absent, classify_present
from sandbox.measure.history import WriteOutcome
from sandbox.workload.dataset import Instance


async def check_node(name: str, store: Any, entity: str, key: str, expected: Mapping[str, Instance],
                     outcomes: Mapping[str, WriteOutcome]) -> tuple[StoreCheck, list[dict[str, Any]], int]:
    """(the classification, the records the scan found, how many it listed twice); the scan retried while the
    node comes back from a restart."""
    fields = store.kept(entity).fields
    last = ""
    for _ in range(READ_BACK_ATTEMPTS):
        result = StoreCheck(name, ids={})
        seen: set[str] = set()
        held: list[dict[str, Any]] = []
        twice = 0
        try:
            async for record in store.scan(entity):
                got = str(record[key])
                if got in seen:
                    twice += 1
                    continue
                seen.add(got)
                held.append(record)
                want = expected.get(got)
                differs = want is not None and any(want.get(f) != record.get(f) for f in fields if f in want)
                result.add(classify_present(outcomes.get(got) if want is not None else None, differs), got)
        except Exception as exc:  # a node that cannot be read back is reported, not a crash
            last = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            await asyncio.sleep(READ_BACK_PAUSE_S)
            continue
        for k in expected:
            if k not in seen:
                result.add(classify_absent(outcomes.get(k)), k)
        return result, held, twice
    return StoreCheck(name, error=f"read-back failed {READ_BACK_ATTEMPTS} times: {last}"), [], 0
