"""The report's tables from a summary.json alone (pure logic): findings in red, every section present."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.report.html import write_report
from sandbox.report.sections import run_tables

CHECK = {"error": None, "findings": 3, "counts": {"ok": 97, "lost": 3, "divergent": 0, "not_attempted": 0}}
SUMMARY = {
    "run_id": "20260101t000000_abcd", "scenario": "outage", "seed": 7, "consistent": None, "phases": ["write"],
    "stores": {"redis": {"server": {"product": "Redis", "version": "7.0.15", "detail": "aof off"},
                         "endpoint": "redis://:***@127.0.0.1:6379/0", "operations": {}}},
    "faults": [{"t_s": 1.5, "store": "redis", "action": "kill", "when": "at write op 30", "detail": "SIGKILL"}],
    "check": {"has_findings": True, "reports": [{"label": "after recovery", "has_findings": True,
                                                 "stores": {"redis": CHECK}}]},
    "durability": {"failure_simulated": "kill -9", "rows": [
        {"profile": "default", "store": "redis", "setting": "appendonly=no", "write_p50_ms": 1.0, "write_p99_ms": 2.0,
         "acknowledged": 100, "lost": 3, "unknown": 0, "divergent": 0, "held_after": 97}]},
    "strategies": [{"strategy": "dual-write", "acknowledged": 100, "failed": 0, "throughput_orders_s": 50.0,
                    "write_latency": {"latency_ms": {"p50": 1.0, "p99": 3.0}}, "divergence_at_end": {"divergent": 2},
                    "divergence_after_recovery": {"divergent": 2, "duplicates": 0, "lost_acknowledged": 0},
                    "settled": True, "time_to_converge_s": None, "finding": None}],
}


def test_every_section_is_built_and_findings_are_marked() -> None:
    tables = {t.id: t for t in run_tables(SUMMARY)}
    assert list(tables) == ["strategies", "faults", "check-0", "durability"]
    [check_row] = tables["check-0"].rows
    assert check_row[-1].bad and "lost 3" in check_row[-1].text
    lost = tables["check-0"].headers.index("lost")
    assert check_row[lost].bad and check_row[lost].text == "3"
    [durable] = tables["durability"].rows
    assert durable[tables["durability"].headers.index("lost")].bad
    [strategy] = tables["strategies"].rows
    assert strategy[tables["strategies"].headers.index("time to converge")].text == "never"


def test_report_of_a_folder_without_timeline_or_operations(tmp_path: Path) -> None:
    folder = tmp_path / "20260101T000000Z-outage"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(SUMMARY))
    page = write_report(folder).read_text()
    for table in ("strategies", "faults", "check-0", "durability", "recommend", "manifest"):
        assert f'id="table-{table}"' in page
    assert '<figure class="plot"' not in page  # nothing measured per operation: no plot is drawn from nothing
    assert "lost 3 of 100 acknowledged after kill -9" in page  # the matrix cell, from this folder
