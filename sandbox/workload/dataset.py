"""A model's data for one seed: reference data held in memory, root instances made on demand from (seed, index).

An instance is a plain dict: field name -> value (Decimal at its scale, datetime in UTC, str, int, bool, None),
and each owned collection -> a list of child dicts. Hidden fields are gone from what callers get.

Draw order (what makes a seed reproducible): an instance's members are made in the order the model file
lists them; a children collection draws its count, then (with `distinct`) its references as one sample
without replacement, then each child in turn; derived fields are computed after every draw, in the order
listed. A root instance i is seeded with "SEED:ENTITY:i"; a reference entity's instance with
"SEED:ENTITY:i", or, with `seed_group = G`, every entity of the group from one sequence seeded "SEED:G" in
the order the file lists the entities.
"""

from __future__ import annotations

import _random
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from hashlib import sha512
from typing import Any

from sandbox.workload.compile import Make, compile_entity
from sandbox.workload.schema import Entity, Field, Gen, Model

Instance = dict[str, Any]


def seed_rng(rng: random.Random, text: str) -> None:
    """rng.seed(text) as random.Random.seed derives it from a string (its bytes and their SHA-512, big-endian),
    handed straight to the C seeding (a quarter of a Python-level seed()'s cost)."""
    key = text.encode()
    _random.Random.seed(rng, int.from_bytes(key + sha512(key).digest()))


@dataclass(frozen=True)
class Sizes:
    """How many instances: the root's count is the run's; reference counts default to the model's."""

    root: int
    reference: Mapping[str, int] | None = None
    spacing_ms: int | None = None  # overrides the root's spaced timestamps (e.g. analytics spreads them)


class Dataset:
    def __init__(self, model: Model, seed: int, sizes: Sizes):
        self.model = model
        self.seed = seed
        self.sizes = sizes
        self._plans: dict[str, Make] = {}
        self._reference: dict[str, list[Instance]] | None = None
        root = model.root_entity
        self._root_prefix = f"{seed}:{root.name}:"
        self._root_plan = self.plan(root.name)

    @property
    def count(self) -> int:
        return self.sizes.root

    def count_of(self, entity: str) -> int:
        e = self.model.entity(entity)
        if e.role == "root":
            return self.sizes.root
        return (self.sizes.reference or {}).get(entity, e.count)

    def plan(self, entity: str) -> Make:
        """The entity's compiled make(rng, index, position, parent) (compile.py)."""
        if entity not in self._plans:
            e = self.model.entity(entity)
            if e.role == "root" and self.sizes.spacing_ms is not None:
                e = _respaced(e, self.sizes.spacing_ms)
            self._plans[entity] = compile_entity(e, self)
        return self._plans[entity]

    @property
    def reference(self) -> dict[str, list[Instance]]:
        """Every reference entity's instances (small: held in memory), in model order."""
        if self._reference is None:
            self._reference = {}
            groups: dict[str, random.Random] = {}
            for e in self.model.references:
                plan = self.plan(e.name)
                made: list[Instance] = []
                self._reference[e.name] = made  # visible while it fills: earlier picks read it
                rng = groups.get(e.seed_group or "")
                if e.seed_group is not None and rng is None:
                    groups[e.seed_group] = rng = random.Random()
                    seed_rng(rng, f"{self.seed}:{e.seed_group}")
                for i in range(self.count_of(e.name)):
                    if e.seed_group is None:
                        rng = random.Random()
                        seed_rng(rng, f"{self.seed}:{e.name}:{i}")
                    assert rng is not None
                    made.append(plan(rng, i, i, None))
        return self._reference

    def instance_of(self, entity: str, index: int) -> Instance:
        """Instance `index` of a reference entity (held) or of the root (made again)."""
        if self.model.entity(entity).role == "root":
            return self.root(index)
        refs = self._reference if self._reference is not None else self.reference
        return refs[entity][index]

    def root(self, index: int) -> Instance:
        rng = random.Random()
        seed_rng(rng, f"{self._root_prefix}{index}")
        return self._root_plan(rng, index, index, None)

    def roots(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Instance]:
        """Root instances start, start + step, ... below stop (default: the run's count); load worker i of N
        takes roots(i, step=N)."""
        rng = random.Random()  # re-seeded per instance: reusing it saves building one each time
        prefix, make = self._root_prefix, self._root_plan
        for index in range(start, self.sizes.root if stop is None else stop, step):
            seed_rng(rng, f"{prefix}{index}")
            yield make(rng, index, index, None)

    def key(self, instance: Mapping[str, Any]) -> Any:
        return instance[self.model.root_entity.key]


def _respaced(e: Entity, spacing_ms: int) -> Entity:
    members = tuple(replace(m, gen=Gen("spaced", {**m.gen.params, "spacing_ms": spacing_ms}))
                    if isinstance(m, Field) and m.gen is not None and m.gen.name == "spaced" else m
                    for m in e.members)
    return replace(e, members=members)


def plain(value: Any) -> Any:
    """A value in canonical JSON form: money as text at its scale, times as ISO with milliseconds."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, list):
        return [{k: plain(v) for k, v in child.items()} for child in value]
    return value


def instance_json(instance: Mapping[str, Any]) -> str:
    """Canonical JSON of one instance (sorted keys): the byte-for-byte identity of generated data."""
    return json.dumps({k: plain(v) for k, v in instance.items()}, sort_keys=True, separators=(",", ":"))
