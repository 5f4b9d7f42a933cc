"""Every step a scenario file can name, gathered from the modules that define them."""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sandbox.errors import UsageError
from sandbox.scenario import (
    analytics_steps,
    cache_steps,
    disk_full_step,
    durability_step,
    exhaustion_steps,
    fault_steps,
    migration_step,
    mix_steps,
    partitioning_step,
    replica_steps,
    reshard_step,
    routing_step,
    sharding_step,
    steps,
    strategy_steps,
    sweep_steps,
)
from sandbox.scenario.spec import Phase, RunParams, Scenario

# A module without VALIDATORS has no parameters to check before the run.
MODULES = (steps, fault_steps, durability_step, strategy_steps, sharding_step, reshard_step, partitioning_step,
           routing_step, replica_steps, analytics_steps, cache_steps, exhaustion_steps, disk_full_step,
           migration_step, mix_steps, sweep_steps)
STEPS: dict[str, steps.Step] = {name: step for m in MODULES for name, step in m.STEPS.items()}
# Steps whose parameters can be checked against the run before anything starts (raise UsageError).
VALIDATORS: dict[str, Callable[[dict[str, Any], RunParams], None]] = {
    name: check for m in MODULES for name, check in getattr(m, "VALIDATORS", {}).items()}


def check_params(step: str, params: dict[str, Any]) -> str | None:
    """Why these phase parameters do not fit the step, or None."""
    accepted = set(inspect.signature(STEPS[step]).parameters) - {"ctx"}
    bad = set(params) - accepted
    if bad:
        takes = ", ".join(sorted(accepted)) or "none"
        return f"step {step!r} takes no parameter {sorted(bad)[0]!r} (it takes: {takes})"
    return None


def validate_phase(step: str, params: dict[str, Any], run: RunParams) -> None:
    if validator := VALIDATORS.get(step):
        validator(params, run)


def override_params(scenario: Scenario, pairs: list[str]) -> Scenario:
    """`--param key=value`: set that parameter on every phase whose step takes it. Values are read as
    TOML values (5, 2.5, true, ["a"]), and as plain text when they are not valid TOML."""
    phases = list(scenario.phases)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: expected key=value, e.g. --param store=redis")
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        hits = [i for i, p in enumerate(phases) if key in inspect.signature(STEPS[p.step]).parameters
                and key != "ctx"]
        if not hits:
            raise UsageError(f"--param {key}: no step of scenario {scenario.name} takes it "
                             f"(steps: {', '.join(p.step for p in phases)})")
        for i in hits:
            phases[i] = Phase(phases[i].step, {**phases[i].params, key: value})
    return replace(scenario, phases=tuple(phases))
