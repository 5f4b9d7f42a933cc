"""Stage lists as written: `--stages` text ("ramp:10s:200, hold:30s"), a scenario's TOML list of such strings
or of tables ({shape = "ramp", duration = "10s", to = 200}), or stages as JSON (a worker process's job), into
Stage values (sandbox.measure.stages). Anything wrong is one UsageError line."""

from __future__ import annotations

import math
import re
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.stages import SHAPES, Rate, Stage

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
SYNTAX = ("ramp:10s:200, step:20s:50, hold:30s, spike:2s:1000, sine:60s:MEAN:AMPLITUDE:PERIOD "
          "(a rate may be xN: N times --rate)")


def parse_stages(raw: Any) -> tuple[Stage, ...]:
    """Stages from `--stages` text ("ramp:10s:200, hold:30s"), a TOML list of such strings or of tables
    ({shape = "ramp", duration = "10s", to = 200}), or stages already parsed."""
    if raw is None or raw == "" or raw == () or raw == []:
        return ()
    if isinstance(raw, str):
        items: list[Any] = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise UsageError(f"stages: expected text like {SYNTAX.split(',')[0]!r} or a list, got {raw!r}")
    return tuple(_one(i, item) for i, item in enumerate(items, 1))


def _one(i: int, item: Any) -> Stage:
    if isinstance(item, Stage):
        return item
    if isinstance(item, dict) and "duration_s" in item:  # dataclasses.asdict (a worker process's job, JSON)
        rate = lambda r: None if r is None else Rate(**r)  # noqa: E731
        return Stage(item["shape"], item["duration_s"], rate(item.get("to")), rate(item.get("amplitude")),
                     item.get("period_s"))
    if isinstance(item, dict):
        return _from_table(i, item)
    if not isinstance(item, str) or not item:
        raise UsageError(f"stage {i}: expected SHAPE:DURATION[:RATE...], e.g. {SYNTAX}; got {item!r}")
    fields = [f.strip() for f in item.split(":")]
    shape, rest = fields[0], fields[1:]
    want = {"ramp": 2, "step": 2, "spike": 2, "hold": 1, "sine": 4}
    if shape not in want:
        raise UsageError(f"stage {i} {item!r}: unknown shape {shape!r}; choose from {', '.join(SHAPES)} ({SYNTAX})")
    if len(rest) != want[shape]:
        raise UsageError(f"stage {i} {item!r}: {shape} takes {want[shape]} field(s) after the shape, got "
                         f"{len(rest)} ({SYNTAX})")
    return _stage(i, item, shape, rest[0], rest[1] if len(rest) > 1 else None,
                  rest[2] if shape == "sine" else None, rest[3] if shape == "sine" else None)


def _from_table(i: int, table: dict[str, Any]) -> Stage:
    shape = table.get("shape")
    allowed = {"shape", "duration", "to"} | ({"amplitude", "period"} if shape == "sine" else set())
    if bad := set(table) - allowed:
        raise UsageError(f"stage {i}: unknown key {sorted(bad)[0]!r}; a {shape or 'stage'} takes "
                         f"{', '.join(sorted(allowed))}")
    if shape not in SHAPES:
        raise UsageError(f"stage {i}: shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    needs = {"ramp": ("to",), "step": ("to",), "spike": ("to",), "hold": (), "sine": ("amplitude", "period")}
    for key in ("duration", *needs[shape]):
        if key not in table:
            raise UsageError(f"stage {i}: a {shape} needs {key!r}")
    if shape == "hold" and "to" in table:
        raise UsageError(f"stage {i}: hold keeps the rate before it; to change it use step")
    text = lambda key: None if table.get(key) is None else str(table[key])  # noqa: E731
    return _stage(i, str(table), shape, str(table["duration"]), text("to"), text("amplitude"), text("period"))


def _stage(i: int, item: str, shape: str, duration: str, to: str | None, amplitude: str | None,
           period: str | None) -> Stage:
    where = f"stage {i} {item!r}"
    if shape == "hold" and to is not None:
        raise UsageError(f"{where}: hold keeps the rate before it; to change it use step")
    d = _seconds(where, "duration", duration)
    if d <= 0:
        raise UsageError(f"{where}: the duration must be above 0, got {duration!r}")
    stage = Stage(shape, d, _rate(where, to) if to not in (None, "") else None,
                  _rate(where, amplitude) if amplitude is not None else None,
                  _seconds(where, "period", period) if period is not None else None)
    if shape == "sine" and not (stage.period_s or 0) > 0:
        raise UsageError(f"{where}: the period must be above 0, got {period!r}")
    if shape in ("ramp", "step", "spike") and stage.to is None:
        raise UsageError(f"{where}: a {shape} needs a rate ({SYNTAX})")
    return stage


def _seconds(where: str, what: str, text: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise UsageError(f"{where}: {what} {text!r} is not a time: give seconds, e.g. 10s, 500ms, 2m")
    return float(m[1]) * _UNIT_S[m[2]]


def _rate(where: str, text: str) -> Rate:
    t = text.strip()
    relative = t.startswith("x")
    try:
        value = float(t[1:] if relative else t.removesuffix("/s"))
    except ValueError:
        raise UsageError(f"{where}: rate {text!r} is not a number of operations per second (or xN: N times "
                         "--rate)") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{where}: rate {text!r} must be zero or more")
    return Rate(value, relative)
