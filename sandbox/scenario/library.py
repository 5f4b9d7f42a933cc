"""Every step a scenario file can name, gathered from the modules that define them."""

from __future__ import annotations

import inspect
from typing import Any

from sandbox.scenario import steps, strategy_steps

STEPS: dict[str, steps.Step] = {**steps.STEPS, **strategy_steps.STEPS}


def check_params(step: str, params: dict[str, Any]) -> str | None:
    """Why these phase parameters do not fit the step, or None."""
    accepted = set(inspect.signature(STEPS[step]).parameters) - {"ctx"}
    bad = set(params) - accepted
    if bad:
        takes = ", ".join(sorted(accepted)) or "none"
        return f"step {step!r} takes no parameter {sorted(bad)[0]!r} (it takes: {takes})"
    return None
