"""What a requirements file needs measured: one Measurement per scenario run, from the evidence sources.

Each evidence source (a requirement kind) turns the requirements into scenario runs of existing experiments and
later scores them (score.py). Sources planned elsewhere (footprint and cost, isolation) join SOURCES when they
exist; until then their requirements score "not measured" with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sandbox.workload.requirements import Requirements
from sandbox.workload.schema import Model

STEP_S = 1.5  # seconds per capacity step: small sizes by default (bench/ and scenarios are for big ones)
WARMUP_S = 0.5
CAPACITY_STEPS = 3  # the target rate, then a step up (margin) or down (where it does hold)
LOAD_S_PER_1000 = 2.0  # bulk load of the data set, per store, rough
CRASH_TRIAL_S = 12.0  # a kill, a restart and the read-back, per store
VISIBILITY_S = 10.0
UPDATE_CHECK_S = 8.0
FOOTPRINT_S = 12.0  # three sizes written and read back, the index-cost queries, per store


@dataclass(frozen=True)
class Measurement:
    """One scenario run `sandbox evaluate` makes (or reuses): what it is for and how long it should take."""

    kind: str  # capacity | durability | visibility | updates
    purpose: str  # the requirement it serves, as shown
    scenario: str
    stores: tuple[str, ...]
    orders: int
    params: dict[str, Any] = field(default_factory=dict)  # the steps' -p values
    concurrency: int = 8
    estimate_s: float = 0.0
    pattern: str = ""  # capacity: the access pattern measured
    budget: str = ""  # footprint: the monthly budget its cost is scored against (not part of the key)

    def key(self, model: Model, seed: int, backend: str, options: dict[str, Any]) -> dict[str, Any]:
        """What makes an earlier run the same measurement (servers are added by the caller once connected)."""
        return {"kind": self.kind, "scenario": self.scenario, "model": model.name, "model_path": model.path,
                "seed": seed, "orders": self.orders, "stores": list(self.stores), "concurrency": self.concurrency,
                "params": {k: self.params[k] for k in sorted(self.params)}, "backend": backend,
                "options": {k: options[k] for k in sorted(options)}}

    def command(self, model: Model, seed: int) -> str:
        ps = " ".join(f"-p {k}={_shown(v)}" for k, v in self.params.items())
        return (f"sandbox run {self.scenario} --model {model.name} --stores {','.join(self.stores)} "
                f"--orders {self.orders} --seed {seed} --concurrency {self.concurrency} {ps}").strip()


def _shown(value: Any) -> str:
    if isinstance(value, list):  # profiles as a|b; numbers as the JSON list the step reads ('sizes=[50,100]')
        listed = json.dumps(value).replace(" ", "")
        return "|".join(value) if all(isinstance(v, str) for v in value) else f"'{listed}'"
    return f"'{value}'" if " " in str(value) or "=" in str(value) else str(value)


def plan(req: Requirements, stores: list[str], size: int, durability: str = "default") -> list[Measurement]:
    """The runs the requirements need, cheapest evidence first (so a --budget cut leaves the latency targets).
    `durability`: the durability profile the crash trials run at (the servers as they would be configured)."""
    orders = min(size, req.load.data_size)
    load_s = LOAD_S_PER_1000 * max(1, orders // 1000)
    out: list[Measurement] = []
    for pattern, target in req.latency.items():
        est = len(stores) * (load_s + CAPACITY_STEPS * (STEP_S + WARMUP_S)) + 5
        out.append(Measurement(
            "capacity", f"latency of {pattern}: {target.target} at {target.rate:g}/s", "capacity", tuple(stores),
            orders, {"slo": target.slo, "mix": f"{pattern}=100", "start_rate": target.rate, "max_steps": CAPACITY_STEPS,
                     "step_s": STEP_S, "warmup_s": WARMUP_S, "max_rate": target.rate * 4}, 32, est, pattern))
    if req.durability is not None:
        out.append(Measurement("durability", f"durability: {_lost(req)} acknowledged writes lost on a crash",
                               "durability", tuple(stores), 1_000_000,
                               {"profiles": [durability], "repeat": 1, "kill_after_s": 0.5}, 8,
                               len(stores) * CRASH_TRIAL_S))
    if req.consistency.read_your_writes:
        out.append(Measurement("visibility", "read-your-writes: a write is visible to the next read", "visibility",
                               tuple(stores), min(orders, 500), {"sample": 50, "timeout_s": 5.0}, 8,
                               len(stores) * VISIBILITY_S / 2 + 5))
    if req.consistency.no_lost_updates:
        out.append(Measurement("updates", f"no lost updates under the {req.mix} mix", "mix", tuple(stores), orders,
                               {"mix": req.mix, "operations": 1000}, 8, len(stores) * (load_s + UPDATE_CHECK_S)))
    if req.budget:
        n = min(size, req.load.data_size)
        sizes = sorted({max(50, n // 4), max(100, n // 2), max(100, n)})
        purpose = f"monthly cost of {req.load.data_size:,} root instances within {req.budget}"
        out.append(Measurement("footprint", purpose, "footprint", tuple(stores), max(sizes),
                               {"sizes": sizes, "project": f"entities={req.load.data_size}", "queries": 10,
                                "budget_s": 1.0}, 8, len(stores) * FOOTPRINT_S + 5, budget=req.budget))
    return out


def _lost(req: Requirements) -> str:
    assert req.durability is not None
    return "no" if req.durability.lost_acknowledged == "none" else f"at most {req.durability.bound}"


def within(measurements: list[Measurement], budget_s: float | None) -> tuple[list[Measurement], list[Measurement]]:
    """The measurements whose estimates fit the budget, in order, and the ones left out."""
    if budget_s is None:
        return measurements, []
    kept: list[Measurement] = []
    spent = 0.0
    for m in measurements:
        if spent + m.estimate_s > budget_s:
            return kept, measurements[len(kept):]
        kept.append(m)
        spent += m.estimate_s
    return kept, []
