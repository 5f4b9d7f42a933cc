"""The `sharding` scenario from the command line: it needs no server, writes its table, JSON and plot,
and refuses bad parameters with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.experiments.sharding.sharding_table import findings
from sandbox.stores.registry import StoreRegistry
from tests.helpers import assert_usage_error, sandbox

# Every store pointed at a closed port: the scenario must not try to connect.
REGISTRY = StoreRegistry.built_in()
NOWHERE = {f"SANDBOX_{name.upper()}_URL": f"{REGISTRY.kinds[name].schemes[0]}://127.0.0.1:1" for name in REGISTRY.names}


def test_runs_without_any_server(tmp_path: Path) -> None:
    proc = sandbox("run", "sharding", "--seed", "5", "-p", "keys=3000", "-p", "shards=20", "-p", "curve=[2, 20, 200]",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path), **NOWHERE}, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run_dir,) = tmp_path.iterdir()
    result = json.loads((run_dir / "summary.json").read_text())["experiments"]["sharding"]
    assert {(m["scheme"], m["key_kind"], m["n_to"]) for m in result["movements"]} == {
        (s, k, n) for s in ("md5-mod", "ring", "jump", "rendezvous") for k in ("order_id", "customer_id")
        for n in (19, 21)}
    assert result["curve"]["n"] == [2, 20, 200]
    assert (run_dir / "moved_fraction.svg").read_text().lstrip().startswith("<?xml")
    page = (run_dir / "report.html").read_text()  # the plot and the table in the run's report too
    assert 'id="plot-plot-moved-fraction"' in page and "<svg" in page and "keys moved when the shard count" in page
    assert (run_dir / "plot-moved-fraction.png").stat().st_size > 0
    assert "20 -> 21" in proc.stdout and "rendezvous" in proc.stdout


@pytest.mark.parametrize(("param", "words"), [
    ("shards=1", ("shards must be a whole number from 2",)),
    ("keys=0", ("keys must be a whole number from 1",)),
    ("key_kinds=[\"sku\"]", ("key_kinds must be a list drawn from order_id, customer_id",)),
    ("curve=7", ("curve must be a list",)),
])
def test_bad_parameters_exit_2(param: str, words: tuple[str, ...], tmp_path: Path) -> None:
    proc = sandbox("run", "sharding", "-p", param, env={"SANDBOX_RESULTS_DIR": str(tmp_path), **NOWHERE})
    assert_usage_error(proc, *words)
    assert not any(tmp_path.iterdir())


def test_a_consistent_scheme_moving_old_keys_is_a_finding() -> None:
    row = {"key_kind": "order_id", "n_from": 10, "n_to": 11, "only_changed_shard": False}
    assert findings({"movements": [{**row, "scheme": "md5-mod"}]}) == []
    assert len(findings({"movements": [{**row, "scheme": "jump"}, {**row, "scheme": "ring"}]})) == 2
