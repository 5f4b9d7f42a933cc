"""A requirements file (requirements/NAME.toml): what an application needs of its storage, checked against its model.

`sandbox evaluate FILE` plans and scores measurements from it (docs/evaluate.md). The structure is a pydantic
model (unknown keys and wrong types refused); what needs the model (its mix, its access patterns) is checked
after. Every mistake is one line `file:line: what; what to change` (toml_lines.Where), and nothing runs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandbox.errors import UsageError
from sandbox.workload import model_file
from sandbox.workload.schema import Model
from sandbox.workload.toml_lines import ModelError, Where

_TARGET = re.compile(r"^p(\d+(?:\.\d+)?)\s*(?:<=|≤)\s*(\d+(?:\.\d+)?)\s*(us|ms|s)$")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
MONEY = re.compile(r"^(\d+(?:\.\d+)?)\s*(USD|EUR|GBP)\s*(?:/|per\s+)month$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LatencyTarget(_Strict):
    """`[latency.PATTERN] target = "p99 <= 20ms"`, `rate = 2000` (operations per second of that pattern)."""

    target: str
    rate: float = Field(gt=0)

    @field_validator("target")
    @classmethod
    def _parses(cls, text: str) -> str:
        m = _TARGET.match(text.strip())
        if not m or not 0 < float(m[1]) < 100 or float(m[2]) <= 0:
            raise ValueError(f"target {text!r}: expected a percentile <= a time, e.g. \"p99 <= 20ms\" "
                             "(percentile above 0 and below 100; units us, ms, s)")
        return text.strip()

    @property
    def percentile(self) -> float:
        return float(_TARGET.match(self.target)[1])  # type: ignore[index]

    @property
    def limit_ms(self) -> float:
        m = _TARGET.match(self.target)
        assert m is not None
        return float(m[2]) * _UNIT_MS[m[3]]

    @property
    def slo(self) -> str:
        """The capacity step's spelling of the target (`-p slo=p99=20ms`)."""
        return f"p{self.percentile:g}={self.limit_ms:g}ms"


class Load(_Strict):
    peak_rate: float = Field(gt=0, description="operations per second of the mix at peak")
    data_size: int = Field(gt=0, description="root instances held now")


class Durability(_Strict):
    """Acknowledged writes that may be lost when a server process crashes: "none", or at most this many."""

    lost_acknowledged: Literal["none"] | int = "none"

    @field_validator("lost_acknowledged")
    @classmethod
    def _bound(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 0:
            raise ValueError("lost_acknowledged is \"none\" or a whole number >= 0 (the most writes that may be lost)")
        return value

    @property
    def bound(self) -> int:
        return 0 if self.lost_acknowledged == "none" else int(self.lost_acknowledged)


class Consistency(_Strict):
    read_your_writes: bool = False
    no_lost_updates: bool = False


class Requirements(_Strict):
    model: str
    mix: str
    description: str = ""
    load: Load
    latency: dict[str, LatencyTarget] = Field(default_factory=dict)
    durability: Durability | None = None
    consistency: Consistency = Field(default_factory=Consistency)
    budget: str | None = Field(None, description="monthly budget, e.g. \"500 USD/month\"")

    @field_validator("budget")
    @classmethod
    def _money(cls, text: str | None) -> str | None:
        if text is not None and not MONEY.match(text.strip()):
            raise ValueError(f"budget {text!r}: expected an amount, a currency and a period, e.g. \"500 USD/month\"")
        return text


def load(path: Path, project_dir: Path) -> tuple[Requirements, Model]:
    """The file's requirements and the model they name (models/NAME.toml or a path), both checked."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read requirements file {path}: {exc.strerror}") from None
    return loads(text, path, project_dir)


def loads(text: str, path: Path, project_dir: Path) -> tuple[Requirements, Model]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at line N, column M)": keep the one line, file:line first.
        m = re.search(r"at line (\d+)", str(exc))
        raise ModelError(f"{path}:{m[1] if m else 1}: not valid TOML: {exc}") from None
    where = Where(path, text)
    try:
        req = Requirements.model_validate(raw)
    except ValidationError as exc:
        raise _first(exc, where) from None
    try:
        model = model_file.load(model_file.find(project_dir, req.model))
    except UsageError as exc:
        raise where.fail(("model",), f"model {req.model!r}: {exc}") from None
    if req.mix not in model.mixes:
        raise where.fail(("mix",), f"mix {req.mix!r} is not in model {model.name}: choose from "
                         f"{', '.join(sorted(model.mixes)) or 'none (add a [mix.NAME] to the model)'}")
    for pattern in req.latency:
        if pattern not in model.patterns:
            raise where.fail(("latency", pattern), f"latency target on pattern {pattern!r}, which model "
                             f"{model.name} does not have: choose from {', '.join(sorted(model.patterns))}")
    return req, model


def _first(exc: ValidationError, where: Where) -> ModelError:
    """pydantic's first complaint, at the line of the key it is about."""
    # A misspelled key also makes the right one missing: name the misspelling.
    error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    loc = tuple(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
        loc_parent = loc[:-1]
        fields = _fields_at(loc_parent)
        if fields:
            message += f"; expected {', '.join(fields)}"
    elif error["type"] == "missing":
        message = f"missing {'.'.join(loc)}"
        return where.fail(loc[:-1] or ("model",), message)
    return where.fail(loc, f"{'.'.join(loc)}: {message}")


def _fields_at(loc: tuple[str, ...]) -> list[str]:
    nested: dict[tuple[str, ...], type[BaseModel]] = {(): Requirements, ("load",): Load,
                                                      ("durability",): Durability, ("consistency",): Consistency}
    if len(loc) == 2 and loc[0] == "latency":
        return sorted(LatencyTarget.model_fields)
    cls = nested.get(loc)
    return sorted(cls.model_fields) if cls else []
