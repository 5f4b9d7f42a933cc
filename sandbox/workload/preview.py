"""What a model generates, before anything runs: sample instances and each generated field's distribution."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.workload.dataset import Dataset, Instance, Sizes
from sandbox.workload.schema import Model


@dataclass
class FieldSample:
    """The values one field took over the sample: numbers for a histogram, or counts per value."""

    entity: str
    field: str
    numbers: list[float] = dataclasses.field(default_factory=list)
    counts: Counter = dataclasses.field(default_factory=Counter)
    times: bool = False  # numbers are epoch seconds of timestamps

    @property
    def numeric(self) -> bool:
        return bool(self.numbers)


@dataclass
class Preview:
    model: Model
    samples: dict[str, list[Instance]]  # entity -> a few instances
    fields: list[FieldSample]
    sizes: dict[str, int]  # entity -> instances in the sample the distributions were taken from


def preview(model: Model, seed: int = 1, roots: int = 2000, shown: int = 2) -> Preview:
    ds = Dataset(model, seed, Sizes(roots))
    per_entity: dict[str, list[Instance]] = {e.name: list(ds.reference[e.name]) for e in model.references}
    per_entity[model.root] = list(ds.roots())
    children: dict[str, list[Instance]] = {}
    for name, instances in list(per_entity.items()):
        for c in model.entity(name).children:
            children.setdefault(c.entity, []).extend(child for inst in instances for child in inst[c.name])
            per_entity.setdefault(f"{name}.{c.name} (count)", [])
    samples: dict[str, list[Instance]] = {}
    out: list[FieldSample] = []
    for name, instances in {**per_entity, **children}.items():
        if name.endswith("(count)"):
            continue
        entity = model.entity(name)
        samples[name] = instances[:shown]
        for f in entity.stored_fields:
            if f.gen is None and f.derive is None and not f.copy:
                continue
            s = FieldSample(name, f.name)
            for inst in instances:
                _add(s, inst.get(f.name))
            out.append(s)
        for c in entity.children:
            s = FieldSample(name, f"{c.name} (count)")
            for inst in instances:
                s.numbers.append(len(inst[c.name]))
            out.append(s)
    sizes = {name: len(v) for name, v in {**per_entity, **children}.items() if not name.endswith("(count)")}
    return Preview(model, samples, out, sizes)


def _add(s: FieldSample, value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        s.counts[str(value)] += 1
    elif isinstance(value, int | float | Decimal):
        s.numbers.append(float(value))
    elif hasattr(value, "timestamp"):
        s.numbers.append(value.timestamp())
        s.times = True
    else:
        s.counts[str(value)] += 1
