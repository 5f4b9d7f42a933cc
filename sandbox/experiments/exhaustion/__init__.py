"""Resource exhaustion: a store at its memory cap (scenario `redis-maxmemory`), each store's disk filled
(`disk-full`): what it does with writes, whether it recovers, what survives. Their checks go to the faults
experiment's (every root instance classified; exit 3 on a loss)."""

from __future__ import annotations

from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.exhaustion import disk_full, memory_cap
from sandbox.experiments.exhaustion.result import DiskFullRun
from sandbox.experiments.exhaustion.table import print_disk_full
from sandbox.scenario.context import RunContext

STEPS = {**memory_cap.STEPS, **disk_full.STEPS}


class Exhaustion(Experiment[DiskFullRun]):
    name = "exhaustion"
    result = DiskFullRun
    steps = STEPS

    def summary(self, result: DiskFullRun | None) -> dict[str, Any]:
        return {"experiments": None if result is None else {"disk_full": result.to_json()}}

    def show(self, ctx: RunContext, result: DiskFullRun) -> list[str]:
        return print_disk_full(result.result)  # a store that took no write after its space returned


EXPERIMENT = Exhaustion()
