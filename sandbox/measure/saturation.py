"""Is the client, not the store, what was measured? The harness's own CPU and schedule lag.

A Python client on a small machine runs out of CPU long before many stores do; past that point the
numbers describe the harness. Two flags say so on every store result:

- client-saturated: the harness process used >= 90% of one core (process CPU time / wall time)
  during the phase. One event loop cannot use more than one core, so its latencies then include
  time the loop spent on other operations.
- host-saturated: the whole machine was >= 90% busy (all cores, every process: the stores' servers
  included). On a small machine the servers and the client then compete for CPU, and every store's
  numbers describe that contention as much as the store.
- behind-schedule: an open-loop run started its operations at less than 95% of the target rate,
  or had to give up on some (missed). The response times then include that queueing: they are
  correct, but the store was not offered the load asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psutil

from sandbox.measure.load import LoadPlan, LoadResult

SATURATED_CPU = 0.90  # share of one core
BEHIND_RATE = 0.95  # share of the target rate


class CpuMeter:
    """Process CPU time (user + system, all threads) over wall time since start or reset(), and how
    busy the whole machine was over the same window."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.reset()

    def _cpu_s(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def reset(self) -> None:
        self._cpu0, self._wall0 = self._cpu_s(), time.perf_counter()
        self._host0 = psutil.cpu_times()

    def fraction(self) -> float:
        wall = time.perf_counter() - self._wall0
        return (self._cpu_s() - self._cpu0) / wall if wall > 0 else 0.0

    def host_fraction(self) -> float:
        """Share of all cores that were busy (not idle, not waiting on I/O) since reset()."""
        now = psutil.cpu_times()
        total = sum(now) - sum(self._host0)
        idle = (now.idle - self._host0.idle) + (getattr(now, "iowait", 0.0) - getattr(self._host0, "iowait", 0.0))
        return max(0.0, 1 - idle / total) if total > 0 else 0.0


@dataclass
class ClientLoad:
    """How hard the client worked during one store's phase, and whether it kept its schedule."""

    cpu: float  # share of one core used by the harness process (the store's worker process, if per-store)
    target_rate: float | None = None  # open loop: operations per second asked for
    started_rate: float | None = None  # operations per second actually started in the measured window
    lag_mean_ms: float = 0.0  # schedule lag: intended start to pick-up, mean over measured operations
    lag_max_ms: float = 0.0
    missed: int = 0  # open loop: due but never sent
    processes: int = 1  # harness processes sharing the work (per-store mode: 1 per store)
    host_cpu: float | None = None  # share of all the machine's cores that were busy

    @property
    def saturated(self) -> bool:
        return self.cpu >= SATURATED_CPU

    @property
    def host_saturated(self) -> bool:
        return self.host_cpu is not None and self.host_cpu >= SATURATED_CPU

    @property
    def behind(self) -> bool:
        if self.target_rate is None:
            return False
        return self.missed > 0 or (self.started_rate is not None and self.started_rate < BEHIND_RATE * self.target_rate)

    @property
    def flags(self) -> list[str]:
        return ((["client-saturated"] if self.saturated else []) + (["host-saturated"] if self.host_saturated else [])
                + (["behind-schedule"] if self.behind else []))

    def to_json(self) -> dict[str, Any]:
        return {"cpu_core_share": round(self.cpu, 3), "target_rate": self.target_rate,
                "started_rate": None if self.started_rate is None else round(self.started_rate, 1),
                "schedule_lag_mean_ms": round(self.lag_mean_ms, 3), "schedule_lag_max_ms": round(self.lag_max_ms, 3),
                "missed": self.missed, "processes": self.processes,
                "host_cpu_share": None if self.host_cpu is None else round(self.host_cpu, 3), "flags": self.flags}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ClientLoad:
        return cls(doc["cpu_core_share"], doc["target_rate"], doc["started_rate"], doc["schedule_lag_mean_ms"],
                   doc["schedule_lag_max_ms"], doc["missed"], doc.get("processes", 1), doc.get("host_cpu_share"))


def client_load(plan: LoadPlan, result: LoadResult, meter: CpuMeter) -> ClientLoad:
    return ClientLoad(meter.fraction(), plan.target_rate, result.started_rate if plan.open else None,
                      result.lag_mean_ms, result.lag_max_ns / 1e6, result.missed, host_cpu=meter.host_fraction())
