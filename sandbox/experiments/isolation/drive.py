"""Concurrent clients running a store's transactions at one level, every attempt recorded into a history.

`concurrency` clients share one seeded generator (a small, hot key space, so transactions collide); each takes
the next transaction, records its invocation, runs it, records how it ended. A client whose transaction ended
unknown (info, or past `timeout_s`) goes on under a fresh process id, as Jepsen's do: its transaction may still
be running. The checker reads the history; nothing here judges it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from sandbox.measure.isolation import History, Recorder
from sandbox.measure.isolation.workload import TxnGenerator
from sandbox.stores.contract import Transactions


@dataclass
class Driven:
    history: History
    seconds: float
    errors: dict[str, int] = field(default_factory=dict)  # the store's reasons for fail / info, counted


async def drive(txns: Transactions, level: str, gen: TxnGenerator, count: int, concurrency: int,
                timeout_s: float = 5.0) -> Driven:
    rec, errors = Recorder(), dict[str, int]()
    processes = itertools.count()
    left = iter(range(count))

    async def client() -> None:
        process = next(processes)
        for _ in left:
            mops = gen.next()
            tid = rec.invoke(process, mops)
            try:
                async with asyncio.timeout(timeout_s):
                    outcome = await txns.run(level, gen.spec.model, mops)
            except TimeoutError:
                rec.complete(tid, "info")
                errors["timeout"] = errors.get("timeout", 0) + 1
                process = next(processes)
                continue
            rec.complete(tid, outcome.type, outcome.mops)
            if outcome.error:
                errors[outcome.error] = errors.get(outcome.error, 0) + 1
            if outcome.type == "info":
                process = next(processes)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Driven(rec.history, time.perf_counter() - start, errors)
