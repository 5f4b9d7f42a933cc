"""The playbook's technology selection matrix, filled only from measured runs.

The seed playbook (shared/seed/database-architect-SKILL.txt) ends in a matrix written from opinion.
Here each cell is a number some run in results/ measured, with that run's id beside it, or
"not measured". Nothing is judged: the reader weighs the numbers against their requirements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich import box
from rich.markup import escape
from rich.table import Table

from sandbox.errors import UsageError
from sandbox.report import folder as rf
from sandbox.report.console import console
from sandbox.report.table_data import Cell, TableData, ms

CRITERIA = ("consistency", "latency", "throughput", "durability", "query flexibility", "cost", "operational notes")
NOT_MEASURED = "not measured"
NEWEST_ONLY = ("cost",)  # one value per store, from the newest run that measured it (runs are read oldest first)


@dataclass
class StoreColumn:
    server: str = ""
    stand_in: bool = False
    cells: dict[str, list[str]] = field(default_factory=dict)

    def note(self, criterion: str, text: str) -> None:
        self.cells.setdefault(criterion, []).append(text)


class MatrixCells(Protocol):
    """What the experiments add to the matrix from one run's summary (the CLI passes the registered ones)."""

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]: ...

    def injected_faults(self, summary: dict[str, Any]) -> bool: ...


def runs(results_root: Path) -> Iterator[rf.Trial]:
    """Every run (and every trial of a repeated run) under results/, oldest first."""
    if not results_root.is_dir():
        return
    for path in sorted(p for p in results_root.iterdir() if (p / "summary.json").is_file()):
        try:
            yield from rf.load(path).trials
        except UsageError:
            continue  # a run that never finished writing its summary is no evidence


def build(results_root: Path, cells: MatrixCells) -> dict[str, StoreColumn]:
    columns: dict[str, StoreColumn] = {}
    latest: dict[tuple[str, str], str] = {}  # (store, criterion) -> the newest run's text, for one-value cells
    readbacks: dict[str, list[tuple[str, bool, dict[str, Any]]]] = {}
    for trial in runs(results_root):
        s, rid = trial.summary, trial.run_id
        stand_ins = set(rf.stand_in_answered(s))
        for name, store in s.get("stores", {}).items():
            col = columns.setdefault(name, StoreColumn())
            server = store.get("server") or {}
            col.server = f"{server.get('product')} {server.get('version')}"
            col.stand_in = name in stand_ins
            # Latency and throughput from the newest run without injected faults; a faulted run only if none.
            faulted = cells.injected_faults(s)
            if not faulted or (name, "latency") not in latest:
                _performance(name, store, s, rid + (" (faults injected)" if faulted else ""), latest)
            if c := store.get("consistency"):
                readbacks.setdefault(name, []).append((rid, bool(c.get("consistent")), c))
                latest[(name, "query flexibility")] = _kept(c, s.get("model") or {}, rid)
        for store_name, criterion, text in cells.matrix(s, rid):
            if store_name in columns and criterion in NEWEST_ONLY:
                latest[(store_name, criterion)] = text
            elif store_name in columns:
                columns[store_name].note(criterion, text)
    for (name, criterion), text in latest.items():
        columns[name].note(criterion, text)
    for name, seen in readbacks.items():
        good = [rid for rid, ok, _ in seen if ok]
        bad = [f"run {rid}: missing {c.get('missing')}, differing {c.get('differing')}"
               for rid, ok, c in seen if not ok]
        columns[name].cells.setdefault("consistency", []).insert(
            0, f"read back as written in {len(good)} of {len(seen)} runs (latest {seen[-1][0]})"
            + ("; INCONSISTENT " + "; ".join(bad[-2:]) if bad else ""))
    return columns


def _kept(c: dict[str, Any], model: dict[str, Any], rid: str) -> str:
    """Fields kept of the root, and whether the store's own checked aggregates came out exact."""
    kept = c.get("fields_compared") or []
    aggregates = c.get("aggregates") or {}
    if isinstance(aggregates, dict):  # a run on the model engine: pattern -> verdict per group
        verdicts = [v for vs in aggregates.values() for v in vs]
        sums = "exact" if verdicts and all(v == "ok" for v in verdicts) else \
            "float drift" if "drift" in verdicts else "not answered" if not verdicts else "DIFFER"
        of = f"/{len(model['fields']) + len(model.get('children', []))}" if model.get("fields") else ""
        return f"fields kept {len(kept)}{of}; checked aggregates {sums} (run {rid}, model {model.get('name')})"
    drift = any(a["kind"] == "drift" for a in aggregates)  # an older run: the hand-written order path
    return (f"fields kept {len(kept)}/6; revenue by status "
            f"{'float drift ' + c.get('revenue_drift', '') if drift else 'exact'} (run {rid})")


def _performance(name: str, store: dict[str, Any], s: dict[str, Any], rid: str,
                 latest: dict[tuple[str, str], str]) -> None:
    ops = store.get("operations") or {}
    params = s.get("params") or {}
    load = f"rate {params['rate']}/s" if params.get("rate") else f"closed loop x{params.get('concurrency')}"
    lat = [f"{op} p50 {ms((o.get('latency_ms') or {}).get('p50'))} / p99 {ms((o.get('latency_ms') or {}).get('p99'))}"
           " ms" for op, o in ops.items() if (o.get("latency_ms") or {}).get("p50") is not None]
    if lat:
        latest[(name, "latency")] = "; ".join(lat) + f" ({load}, batch {params.get('batch')}; run {rid})"
    rates = [f"{op} {o['throughput_orders_s']:,.0f} orders/s" for op, o in ops.items()
             if o.get("throughput_orders_s")]
    if rates:
        flags = sorted({f for o in ops.values() for f in o.get("flags") or []})
        latest[(name, "throughput")] = "; ".join(rates) + f" ({load}; run {rid})" + \
            (f"; client flags: {', '.join(flags)}" if flags else "")


def matrix_table(results_root: Path, cells: MatrixCells) -> TableData:
    columns = build(results_root, cells)
    t = TableData("recommend", "technology selection matrix: every cell measured, with the run it came from",
                  ["store", "answered by", *CRITERIA])
    for name, col in columns.items():
        t.add(name, Cell(col.server + (" (STAND-IN)" if col.stand_in else ""), bad=col.stand_in),
              *("; ".join(dict.fromkeys(col.cells.get(c, []))) or NOT_MEASURED for c in CRITERIA))
    if any(c.stand_in for c in columns.values()):
        t.notes.append("Stand-ins answered for some stores here: their cells describe the stand-in, not MongoDB or "
                       "Elasticsearch; rerun with Docker for the products' numbers.")
    if not columns:
        t.notes.append(f"no runs under {results_root}: every cell is {NOT_MEASURED}.")
    return t


def print_matrix(results_root: Path, cells: MatrixCells) -> None:
    """The matrix for the terminal: one small table per store, so it fits 100 columns."""
    matrix = matrix_table(results_root, cells)
    console.print(f"technology selection matrix from the runs under {results_root} (measured only)")
    for row in matrix.rows:
        table = Table(title=f"{row[0].text}: {row[1].text}", box=box.SIMPLE_HEAD, pad_edge=False, show_header=False)
        table.add_column("criterion", style="bold")
        table.add_column("measured")
        for criterion, cell in zip(CRITERIA, row[2:], strict=True):
            table.add_row(criterion, escape(cell.text))
        console.print(table)
    for note in matrix.notes:
        console.print(f"  note: {note}")
