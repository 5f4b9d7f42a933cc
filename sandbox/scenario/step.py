"""What a scenario's phases name: steps (`async def step(ctx, **params)`), each with an optional check of its
parameters before anything connects, gathered in a `Steps` table the caller passes to the runner."""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sandbox.errors import UsageError

if TYPE_CHECKING:
    from sandbox.scenario.context import RunContext
    from sandbox.scenario.spec import RunParams, Scenario
    from sandbox.stores.registry import StoreRegistry

Step = Callable[..., Awaitable[None]]
Validator = Callable[[dict[str, Any], "RunParams"], None]  # raises UsageError


@dataclass(frozen=True)
class StepSpec:
    run: Step
    validate: Validator | None = None  # the phase's parameters against the run, before anything starts
    # Parameters naming the store that plays a role (param -> role, e.g. "cache" -> "cache"): the store must be
    # in the run and its kind must declare the role (StoreKind.roles); "none" is no store where a step allows it.
    roles: Mapping[str, str] = field(default_factory=dict)
    # A check that needs the run's store kinds (their capabilities): (params, run, registry) -> None.
    check_kinds: Callable[[dict[str, Any], RunParams, StoreRegistry], None] | None = None


def played_by(registry: StoreRegistry, run: RunParams, step: str, param: str, role: str, store: Any) -> Any:
    """What the store named for a role offers for it (its kind's declaration); one line when it cannot play it."""
    if not isinstance(store, str) or store not in run.stores:
        raise UsageError(f"{step}: {param} = {store!r} is not in the run: choose one of {', '.join(run.stores)} "
                         f"(a store whose kind plays {role}), or add it to --stores")
    part = registry.kind(store).roles.get(role)
    if part is None:
        able = [n for n in run.stores if registry.kind(n).roles.get(role) is not None]
        raise UsageError(f"{step}: {store} cannot play {param} (its kind declares no {role!r} role); "
                         f"stores of the run that can: {', '.join(able) or 'none'}")
    return part


def with_defaults(step: Step, params: dict[str, Any], leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """A phase's parameters for `step`, each one it leaves out at the step's default (for validators), without
    those in `leave_out` (a role parameter, checked by Steps.validate)."""
    defaults = {name: p.default for name, p in inspect.signature(step).parameters.items()
                if name != "ctx" and p.default is not inspect.Parameter.empty}
    return {k: v for k, v in {**defaults, **params}.items() if k not in leave_out}


def whole_number(step: str, name: str, value: Any, low: int, high: int, why: str = "") -> None:
    """A step parameter that must be an int in [low, high] (a TOML true is no number)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(f"{step}: {name} must be a whole number from {low} to {high}{why}, got {value!r}")


def _parameters(step: Step) -> Mapping[str, inspect.Parameter]:
    return {k: p for k, p in inspect.signature(step).parameters.items() if k != "ctx"}


@dataclass(frozen=True)
class Steps:
    """Every step a run may name, by name (the registered experiments contribute them)."""

    specs: Mapping[str, StepSpec]

    def __getitem__(self, name: str) -> Step:
        return self.specs[name].run

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __iter__(self) -> Iterator[str]:
        return iter(self.specs)

    def check(self, step: str, params: dict[str, Any]) -> str | None:
        """Why these phase parameters do not fit the step, or None."""
        accepted = _parameters(self[step])
        if bad := set(params) - set(accepted):
            takes = ", ".join(sorted(accepted)) or "none"
            return f"step {step!r} takes no parameter {sorted(bad)[0]!r} (it takes: {takes})"
        needed = [k for k, p in accepted.items() if p.default is inspect.Parameter.empty and k not in params]
        if needed:  # a role without a default: the scenario file names the store that plays it
            return f"step {step!r} needs parameter {needed[0]!r} (set it in the scenario's [[phase]] or with -p)"
        return None

    def validate(self, step: str, params: dict[str, Any], run: RunParams, registry: StoreRegistry) -> None:
        spec = self.specs[step]
        given = with_defaults(spec.run, params)
        for param, role in spec.roles.items():
            if given.get(param) != "none":
                part = played_by(registry, run, step, param, role, given.get(param))
                if check := getattr(part, "check", None):  # the role's own parameters (a cap's policy, ...)
                    check(given)
        if spec.validate is not None:
            spec.validate(params, run)
        if spec.check_kinds is not None:
            spec.check_kinds(given, run, registry)

    def override(self, scenario: Scenario, pairs: list[str]) -> Scenario:
        """`--param key=value`: set that parameter on every phase whose step takes it. Values are read as
        TOML values (5, 2.5, true, ["a"]), and as plain text when they are not valid TOML."""
        from sandbox.scenario.spec import Phase

        phases = list(scenario.phases)
        for pair in pairs:
            key, sep, text = pair.partition("=")
            key = key.strip()
            if not sep or not key:
                raise UsageError(f"--param {pair!r}: expected key=value, e.g. --param store=redis")
            value = toml_value(text)
            hits = [i for i, p in enumerate(phases) if key in _parameters(self[p.step])]
            if not hits:
                raise UsageError(f"--param {key}: no step of scenario {scenario.name} takes it "
                                 f"(steps: {', '.join(p.step for p in phases)})")
            for i in hits:
                phases[i] = Phase(phases[i].step, {**phases[i].params, key: value})
        return replace(scenario, phases=tuple(phases))


def toml_value(text: str) -> Any:
    """A command-line value read as TOML (5, 2.5, true, ["a"]), or as plain text when it is not valid TOML."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def role_part(ctx: RunContext, step: str, param: str, role: str, store: str) -> Any:
    """At run time: what the store named for a role offers for it (checked before the run, by Steps.validate)."""
    from sandbox.stores.registry import registry_of

    return played_by(registry_of(ctx.settings), ctx.params, step, param, role, store)
