"""`sandbox evaluate`: real servers, tiny sizes. A store that cannot serve the mix is ruled out and the one that
meets a lenient latency target is chosen; a target no server here can meet (p99 <= 0.01 ms) is "not met" with
its margin; a second evaluation reuses the first's run and names it; every link of decision.md leads to a
summary.json value; a bad file is one line, exit 2, and runs nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import assert_usage_error, sandbox

LENIENT = '''model = "orders"
mix = "ycsb-a"          # get_order and update_status: InfluxDB appends points, it cannot update a status

[load]
peak_rate = 20
data_size = 200

[latency.get_order]
target = "p99 <= 30s"
rate = 20
'''
STRICT = LENIENT.replace('target = "p99 <= 30s"', 'target = "p99 <= 0.01ms"')
LINK = re.compile(r"\]\(\.\./([^/)]+)/summary\.json(?:#([^)]*))?\)")


def _evaluate(tmp_path: Path, text: str, stores: str, name: str) -> tuple[str, Path, dict]:
    file = tmp_path / f"{name}.toml"
    file.write_text(text)
    done = sandbox("evaluate", str(file), "--stores", stores, "--size", "200",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path / "results")}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = Path(done.stdout.split("decision: ")[1].split()[0]).parent
    return done.stdout, folder / "decision.md", json.loads((folder / "evaluation.json").read_text())


def _verdict(evaluation: dict, store: str, words: str) -> dict:
    return next(v for v in evaluation["verdicts"] if v["store"] == store and words in v["requirement"])


def _follow(decision: Path) -> int:
    """Every run link resolves to a summary.json, every fragment to a value in it; returns the links followed."""
    links = LINK.findall(decision.read_text())
    for run, path in links:
        value = json.loads((decision.parent.parent / run / "summary.json").read_text())
        for part in path.split(".") if path else []:
            value = value[int(part)] if isinstance(value, list) else value[part]
        assert value is not None, (run, path)
    return len(links)


@pytest.mark.stores("postgres", "influx")
def test_evaluate_picks_the_store_that_meets_the_requirements_and_reuses_its_runs(tmp_path: Path) -> None:
    _, decision, evaluation = _evaluate(tmp_path, LENIENT, "postgres,influx", "lenient")
    assert _verdict(evaluation, "postgres", "latency of get_order")["status"] == "met"
    assert _verdict(evaluation, "influx", "answers every access pattern")["status"] == "not met"
    text = decision.read_text()
    assert "**postgres**" in text.split("## Decision")[1].split("##")[0]
    assert "influx is ruled out" in text
    assert _follow(decision) >= 3  # postgres's and influx's p99 at 20/s, and the run itself
    again, decision2, evaluation2 = _evaluate(tmp_path, LENIENT, "postgres,influx", "lenient")
    assert f"reused {evaluation['runs'][0]['run']}" in again, again
    assert evaluation2["runs"][0]["reused"] is True
    assert _follow(decision2) >= 3


@pytest.mark.stores("postgres")
def test_a_target_no_server_here_meets_is_not_met_with_its_margin(tmp_path: Path) -> None:
    _, decision, evaluation = _evaluate(tmp_path, STRICT, "postgres", "strict")
    verdict = _verdict(evaluation, "postgres", "latency of get_order")
    assert verdict["status"] == "not met" and "over the target" in verdict["margin"], verdict
    assert verdict["evidence"] and verdict["server"].startswith("PostgreSQL")
    assert "No single store meets every requirement" in decision.read_text()
    assert _follow(decision) >= 2


@pytest.mark.parametrize("old,new,words", [
    ("[latency.get_order]", "[latency.get_ordr]", ["bad.toml:8:", "get_ordr"]),
    ('mix = "ycsb-a"', 'mix = "ycsb-z"', ["bad.toml:2:", "ycsb-z"]),
    ("[load]", "[load", ["bad.toml:4:", "not valid TOML"]),
])
def test_a_bad_requirements_file_is_one_line_and_runs_nothing(tmp_path: Path, old: str, new: str,
                                                             words: list[str]) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(LENIENT.replace(old, new))
    done = sandbox("evaluate", str(file), env={"SANDBOX_RESULTS_DIR": str(tmp_path / "results")})
    assert_usage_error(done, *words)
    assert not (tmp_path / "results").exists()


def test_plan_only_and_budget(tmp_path: Path) -> None:
    file = tmp_path / "plan.toml"
    file.write_text(LENIENT + '[durability]\nlost_acknowledged = "none"\n')
    done = sandbox("evaluate", str(file), "--plan-only", "--budget", "15s", "--stores", "postgres",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path / "results")})
    assert done.returncode == 0, done.stderr
    assert "sandbox run capacity" in done.stdout and "left out (over --budget 15s): durability" in done.stdout
    assert not (tmp_path / "results").exists()
    assert_usage_error(sandbox("evaluate", str(file), "--budget", "soon"), "--budget 'soon'")
