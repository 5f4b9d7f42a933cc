"""What the mix, update-check and capacity steps of one run share and leave for the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.capacity import CapacityResult, StepResult
from sandbox.measure.pattern_checker import PatternCheck
from sandbox.workload.distributions import KeyDistribution
from sandbox.workload.schema import Mix, Model


@dataclass(frozen=True)
class SweepPoint:
    store: str
    x: int  # the concurrency level, or the data-set size in root instances
    result: StepResult

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {"store": self.store, "x": self.x, "ops_s": None if r.achieved is None else round(r.achieved, 1),
                "p50_ms": r.p50_ms, "p99_ms": r.percentile_ms, "ok": r.ok, "errors": r.errors,
                "first_error": r.first_error, "flags": list(r.flags)}


@dataclass(frozen=True)
class MixChoice:
    """The mix a step ran and the keys its patterns picked."""

    model: Model
    mix: Mix
    distribution: KeyDistribution | None = None  # None: each pattern's own

    def keys(self) -> dict[str, str]:
        """pattern -> its key distribution, as shown."""
        def shape(d: KeyDistribution) -> str:
            if d.name in ("zipfian", "latest"):
                return f"{d.name} {d.skew:g}"
            if d.name == "hotspot":
                return f"hotspot {d.hot_share:.0%} of operations on {d.hot_fraction:.0%} of keys"
            return d.name
        out = {}
        for name, _ in self.mix.weights:
            p = self.model.patterns[name]
            if p.kind == "insert":
                continue  # a new instance: no key is picked
            out[name] = "any in a source state" if p.kind == "transition" and p.sources and not p.read_first else \
                shape(self.distribution or KeyDistribution(p.distribution, p.skew))
        return out

    def to_json(self) -> dict[str, Any]:
        d = self.distribution
        return {"model": self.model.name, "name": self.mix.name, "patterns": dict(self.mix.weights),
                "keys": self.keys(), "distribution": None if d is None else
                {"name": d.name, "skew": d.skew, "hot_fraction": d.hot_fraction, "hot_share": d.hot_share}}


@dataclass
class MixRun:
    loaded: int = 0  # root instances in the data set loaded before the mix (indexes 0 .. loaded-1)
    root: str = ""  # the model's root entity (what `loaded` counts)
    choice: MixChoice | None = None
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)  # store -> pattern -> not sent
    not_answerable: dict[str, dict[str, str]] = field(default_factory=dict)  # store -> pattern -> why
    orphaned: dict[str, dict[str, int]] = field(default_factory=dict)  # store -> pattern -> on roots it never got
    control: dict[str, str] = field(default_factory=dict)  # store -> how its answerers take the mix's writes
    inserted: dict[str, int] = field(default_factory=dict)  # store -> roots the mix added
    not_found: dict[str, int] = field(default_factory=dict)  # store -> gets (and read-modify-writes) finding nothing
    checks: dict[str, PatternCheck] = field(default_factory=dict)
    capacity: dict[str, CapacityResult] = field(default_factory=dict)
    sweeps: dict[str, list[SweepPoint]] = field(default_factory=dict)  # "concurrency" / "data_set" -> points

    @property
    def has_findings(self) -> bool:
        """Exit status 3: a lost update, an impossible state, a wrong counter on any store."""
        return any(c.has_findings for c in self.checks.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data_set": self.loaded, "root": self.root,
                               "mix": self.choice.to_json() if self.choice else None, "left_out": self.left_out,
                               "not_answerable": self.not_answerable,
                               "orphaned": self.orphaned, "control": self.control,
                               "inserted": self.inserted, "reads_not_found": self.not_found}
        if self.checks:
            out["update_check"] = {"has_findings": self.has_findings,
                                   "stores": {n: c.to_json() for n, c in self.checks.items()}}
        if self.capacity:
            out["capacity"] = {n: c.to_json() for n, c in self.capacity.items()}
        if self.sweeps:
            out["sweeps"] = {kind: [p.to_json() for p in points] for kind, points in self.sweeps.items()}
        return out
