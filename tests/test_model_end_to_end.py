"""Issue 30's done-when: a model that exists only in this test runs prepare → load → compare → mix → check on
every store of the run, and one instance corrupted behind one store's back is a difference in that store only.

The corruption is a step of an experiment defined here (registered beside the built-in ones, as a plugin
would be): it changes one stored field of one root instance through the store's own client (tests/raw.py),
between the load and the comparison."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.cli.run import show_run
from sandbox.config import Settings, Workspace
from sandbox.experiments.base import Experiment
from sandbox.experiments.orders.result import ReadBack
from sandbox.experiments.registry import Experiments
from sandbox.measure.progress import Silent
from sandbox.scenario.context import RunContext
from sandbox.scenario.runner import run_blocking
from sandbox.scenario.spec import Phase, RunParams, Scenario
from sandbox.scenario.step import StepSpec
from sandbox.stack import open_stack
from tests.helpers import BUILT_IN
from tests.raw import Raw

# Parcels handed to carriers: an event stream (time + tags) so that every store, InfluxDB too, can hold it.
PARCELS = """
name = "parcels"
description = "Parcels scanned at depots: a test's own model, shipped nowhere."

[entity.depot]
role = "reference"
count = 12

[entity.depot.fields]
id = { type = "keyword", gen = "template", template = "depot-{index:02d}" }
region = { type = "keyword", gen = "choice", values = ["north", "south", "east"] }

[entity.parcel]
role = "root"

[entity.parcel.fields]
id = { type = "id", gen = "uuid" }
depot_id = { ref = "depot", pick = "uniform" }
region = { copy = "depot_id.region" }
carrier = { type = "enum", values = ["post", "courier", "freight"], gen = "choice" }
scanned_at = { type = "timestamp", gen = "spaced", start = "2026-05-01T00:00:00Z", spacing_ms = 1000 }
weight_kg = { type = "decimal", scale = 3, gen = "lognormal", median = 1.6, sigma = 0.8, min = 0.05, max = 70 }
fragile = { type = "bool", gen = "bool", chance = 0.1 }

[entity.parcel.stream]
time = "scanned_at"
tags = ["depot_id", "carrier"]

[pattern.scan_parcel]
kind = "insert"

[pattern.get_parcel]
kind = "get"

[pattern.by_depot]
kind = "range"
where = ["depot_id"]
order_by = "scanned_at"
descending = true
limit = 5

[pattern.weight_by_carrier]
kind = "aggregate"
group_by = ["carrier"]
count = true
sum = ["weight_kg"]
check = true

[mix.depot_day]
scan_parcel = 40
get_parcel = 40
by_depot = 20
"""

BROKEN = "redis"  # the store whose copy the test corrupts: any one of the five would do


@dataclass
class Corrupted:
    store: str = ""
    key: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "key": self.key}


async def corrupt(ctx: RunContext, store: str, field: str) -> None:
    """Change `field` of the first root instance in `store`, through the server's own client."""
    ts = ctx.stores[store]
    first = ctx.dataset.root(0)
    async with Raw(store, ctx.settings) as raw:
        await raw.corrupt(ts.store, ctx.model.root, first["id"], field, Decimal("999.999"))
    ctx.results.put(Corrupted(store, first["id"]))


class CorruptExperiment(Experiment[Corrupted]):
    name = "corrupt"
    result = Corrupted
    steps = {"corrupt": StepSpec(corrupt)}  # noqa: RUF012 (the class's own, never changed)


def test_a_model_of_the_tests_own_runs_everywhere_and_a_corruption_shows_in_one_store_only(
        tmp_path: Path, workspace: Workspace, live: Settings) -> None:
    model_file = tmp_path / "parcels.toml"
    model_file.write_text(PARCELS)
    stores = tuple(BUILT_IN.names)  # all five: the test needs the whole default set up
    assert BROKEN in stores, f"run with {BROKEN} among the stores (STORES=...)"
    experiments = Experiments.of([*Experiments.built_in().registered, CorruptExperiment()])
    phases = (Phase("prepare"), Phase("load", {"batch": 100}), Phase("corrupt", {"store": BROKEN,
                                                                                 "field": "weight_kg"}),
              Phase("compare"), Phase("history"), Phase("mix", {"mix": "depot_day", "operations": 300}),
              Phase("check_updates"))
    params = RunParams(orders=400, stores=stores, seed=5, model=str(model_file), concurrency=4)
    ctx = run_blocking(Scenario("parcels", "", RunParams(), phases), params, live, workspace, "native",
                       open_stack("native", workspace, {}, BUILT_IN), Silent(), experiments.steps(),
                       tmp_path / "run")
    status = show_run(ctx, experiments)
    summary = json.loads((ctx.results_dir / "summary.json").read_text())

    assert summary["model"]["name"] == "parcels" and set(summary["stores"]) == set(stores), summary["stores"].keys()
    read_back = ctx.results.get(ReadBack)
    assert read_back is not None and set(read_back.comparisons) == set(stores)
    broken = read_back.comparisons[BROKEN]
    corrupted = ctx.results.get(Corrupted)
    assert corrupted is not None and not broken.consistent and broken.differing == 1, broken
    assert [(d.key, d.field) for d in broken.differing_examples] == [(corrupted.key, "weight_kg")], broken
    others = {name: c for name, c in read_back.comparisons.items() if name != BROKEN}
    assert all(c.consistent and c.held == 400 for c in others.values()), others
    assert status == 3, "an inconsistent store is a finding"

    mixed = summary["mix"]
    assert set(mixed["update_check"]["stores"]) == set(stores), mixed["update_check"]
    assert not mixed["update_check"]["has_findings"], mixed["update_check"]
    for name in stores:
        ops = summary["stores"][name]["operations"]
        assert {"scan_parcel", "get_parcel", "by_depot"} <= set(ops), (name, sorted(ops))
        assert all(ops[p]["ok"] > 0 and ops[p]["failed"] == 0 for p in ("scan_parcel", "get_parcel", "by_depot")), \
            (name, ops)

