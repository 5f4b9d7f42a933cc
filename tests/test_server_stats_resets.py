"""Server statistics across a restart: a counter reset is detected (the server's own marker of its counters' life,
or a counter going back) and reported as the spans before and after, never as a negative change over the run.

The end-to-end test kills PostgreSQL and Redis mid-run (the outage scenario) in a throwaway stack of its own."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import sandbox, throwaway_stack

from sandbox.measure.server_snapshots import ServerStatsRun, cross_check
from sandbox.stores.server_stats import ServerStats

TEST_OFFSET = 770


def snap(life: str | None, **counters: float) -> ServerStats:
    return ServerStats("test", counters={k: float(v) for k, v in counters.items()}, writes_counter="writes",
                       headline=("writes", "commits"), life=life, started=f"at {life}")


def run_of(*snapshots: ServerStats) -> ServerStatsRun:
    run = ServerStatsRun()
    for i, (before, after) in enumerate(itertools.pairwise(snapshots)):
        run.record(f"phase{i}", {"s": before}, {"s": after})
    return run


def test_counters_that_go_on_give_one_difference() -> None:
    total = run_of(snap("a", writes=10, commits=5), snap("a", writes=30, commits=9)).total()["s"]
    assert total["counters"] == {"writes": 20.0, "commits": 4.0} and "spans" not in total


def test_a_new_life_splits_the_run_into_spans_before_and_after() -> None:
    run = run_of(snap("a", writes=100, commits=50), snap("a", writes=400, commits=60),
                 snap("b", writes=7, commits=2), snap("b", writes=57, commits=3))
    total = run.total()["s"]
    before, after = total["spans"]
    assert before["from"] == "the run's start" and before["to"] == "before phase1" and before["counters"] == \
        {"writes": 300.0, "commits": 10.0}
    assert after["from"] == "the restart" and "started again" in after["restart"]
    assert after["counters"] == {"writes": 57.0, "commits": 3.0}  # counted from zero at the restart
    assert total["counters"] == {"writes": 357.0, "commits": 13.0} and total["at_least"]
    assert run.phases[1][1]["s"]["reset"]["server_started"] == "at b"
    assert run.phases[1][1]["s"]["counters"] == {"writes": 7.0, "commits": 2.0}  # the phase: since the restart
    check = cross_check(run.total(), {"s": 500})["s"]
    assert check["restarted"] and check["difference"] is None


def test_a_counter_going_back_is_a_reset_where_the_server_marks_no_life() -> None:
    run = run_of(snap(None, writes=100, commits=9), snap(None, writes=3, commits=12))
    total = run.total()["s"]
    assert "went back from 100 to 3" in total["restarts"][0]
    assert all(v >= 0 for v in total["counters"].values())


def test_a_clean_restart_that_keeps_the_counters_is_one_life() -> None:
    # PostgreSQL: a clean shutdown saves the statistics; its stats_reset times (the life) stay.
    run = run_of(snap("a", writes=10), snap("a", writes=15), snap("a", writes=40))
    assert run.total()["s"]["counters"] == {"writes": 30.0}


def test_no_cross_check_where_the_run_did_not_write_through_its_clients() -> None:
    run = run_of(snap("a", writes=10), snap("a", writes=15))
    assert cross_check(run.total(), {}) == {}


def negatives(doc: Any, path: str = "") -> list[str]:
    """Every negative number under counters or headline values, with where it is."""
    found = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += negatives(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += negatives(value, f"{path}[{i}]")
    elif isinstance(doc, int | float) and not isinstance(doc, bool) and doc < 0 \
            and ("counters" in path or "headline" in path or "writes_seen" in path):
        found.append(f"{path} = {doc}")
    return found


@pytest.mark.stores()
@pytest.mark.parametrize("killed", ["postgres", "redis"])
def test_no_negative_change_over_the_run_when_a_store_restarts_mid_run(tmp_path: Path, killed: str) -> None:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        done = sandbox("run", "outage", "--stores", "postgres,redis", "--orders", "1200", "--seed", "4",
                       "-p", f"store={killed}", "-p", "down_s=1", env={**t.env, "COLUMNS": "160"}, timeout=300)
        assert done.returncode in (0, 3), done.stdout[-3000:] + done.stderr
        [folder] = list(t.ws.results_dir.iterdir())
        stats = json.loads((folder / "summary.json").read_text())["server_stats"]
    assert negatives(stats) == []
    run = stats["run"][killed]
    assert run["restarts"] and len(run["spans"]) == 2, run
    assert run["spans"][1]["from"] == "the restart"
    assert stats["cross_check"][killed]["restarted"] is True
    assert "restarts" not in stats["run"]["redis" if killed == "postgres" else "postgres"]
    printed = done.stdout[done.stdout.index("server statistics: change over the run"):]
    printed = printed[:printed.index("cross-check")]
    assert "RESTARTED" in printed
    assert re.search(r"\s-\d", printed) is None, printed  # no negative number in the printed table
