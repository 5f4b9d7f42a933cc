"""The report's tables from a summary.json alone (pure logic): findings in red, every section present."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.report.html import write_report
from sandbox.report.table_data import TableData
from tests.helpers import EXPERIMENTS

CHECK = {"error": None, "findings": 3, "counts": {"ok": 97, "lost": 3, "divergent": 0, "not_attempted": 0}}
SUMMARY = {
    "run_id": "20260101t000000_abcd", "scenario": "outage", "seed": 7, "consistent": None, "phases": ["write"],
    "stores": {"redis": {"server": {"product": "Redis", "version": "7.0.15", "detail": "aof off"},
                         "endpoint": "redis://:***@127.0.0.1:6379/0", "operations": {}}},
    "faults": [{"t_s": 1.5, "store": "redis", "action": "kill", "when": "at write op 30", "detail": "SIGKILL"}],
    "check": {"has_findings": True, "reports": [{"label": "after recovery", "has_findings": True,
                                                 "stores": {"redis": CHECK}}]},
    "durability": {"failure_simulated": "kill -9", "rows": [  # three trials of one store, one of another
        {"profile": "default", "store": "redis", "setting": "appendonly=no", "write_p50_ms": 1.0, "write_p99_ms": 2.0,
         "acknowledged": 100, "lost": lost, "unknown": 1, "divergent": 0, "held_after": 100 - lost, "trial": trial,
         "crash": {"rate_at_kill": rate, "state": {"window_seen": trial == 3}},
         "server_state": f"no AOF (trial {trial})", "disk": "fsync p99 40 ms" if trial == 2 else ""}
        for trial, lost, rate in ((1, 3, 900.0), (2, 0, 1100.0), (3, 7, 1000.0))] + [
        # a row written before the crash trials (no crash, server_state, trial): still drawn
        {"profile": "default", "store": "postgres", "setting": "synchronous_commit=on", "write_p50_ms": 1.0,
         "write_p99_ms": None, "acknowledged": 50, "lost": 0, "unknown": 0, "divergent": 0, "held_after": 50}]},
    "strategies": [{"strategy": "dual-write", "acknowledged": 100, "failed": 0, "throughput_orders_s": 50.0,
                    "write_latency": {"latency_ms": {"p50": 1.0, "p99": 3.0}}, "divergence_at_end": {"divergent": 2},
                    "divergence_after_recovery": {"divergent": 2, "duplicates": 0, "lost_acknowledged": 0},
                    "settled": True, "time_to_converge_s": None, "finding": None}],
}


def run_tables(summary: dict) -> list[TableData]:
    """Every experiment's tables of its report section, in the registry's order."""
    out: list[TableData] = []
    for experiment in EXPERIMENTS.registered:
        for value in (experiment.section(summary, None) or {}).values():
            out += [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, TableData)]
    return out


def test_every_section_is_built_and_findings_are_marked() -> None:
    tables = {t.id: t for t in run_tables(SUMMARY)}
    assert list(tables) == ["strategies", "faults", "check-0", "durability"]
    [check_row] = tables["check-0"].rows
    assert check_row[-1].bad and "lost 3" in check_row[-1].text
    lost = tables["check-0"].headers.index("lost")
    assert check_row[lost].bad and check_row[lost].text == "3"
    durable, safe = tables["durability"].rows
    column = {h: i for i, h in enumerate(tables["durability"].headers)}
    assert durable[column["lost min/med/max"]].text == "0/3/7" and durable[column["lost min/med/max"]].bad
    per_trial = durable[column["lost per trial (loss window)"]].text
    assert per_trial == "3, 0, 7"  # a folder without loss windows: the counts alone
    assert durable[column["writes/s at kill"]].text == "1,000"
    assert durable[column["server at the kill (worst trial)"]].text == "no AOF (trial 3)"
    assert durable[column["unknown"]].text == "3" and durable[column["durability setting"]].text == "appendonly=no"
    assert safe[column["lost min/med/max"]].text == "0/0/0" and not safe[column["lost min/med/max"]].bad
    assert safe[column["writes/s at kill"]].text == "-" and safe[column["profile"]].text == ""
    assert durable[column["killed inside the window"]].text == "1 of 3 trials"
    assert safe[column["killed inside the window"]].text == "-"
    assert tables["durability"].notes == ["default / trial 2: fsync p99 40 ms", "failure simulated: kill -9"]
    [strategy] = tables["strategies"].rows
    assert strategy[tables["strategies"].headers.index("time to converge")].text == "never"


def test_report_of_a_folder_without_timeline_or_operations(tmp_path: Path) -> None:
    folder = tmp_path / "20260101T000000Z-outage"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(SUMMARY))
    page = write_report(folder, EXPERIMENTS, EXPERIMENTS).read_text()
    for table in ("strategies", "faults", "check-0", "durability", "recommend", "manifest"):
        assert f'id="table-{table}"' in page
    assert '<figure class="plot"' not in page  # nothing measured per operation: no plot is drawn from nothing
    assert "lost 3 of 100 acknowledged after kill -9" in page  # the matrix cell, from this folder
