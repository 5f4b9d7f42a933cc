"""report.html's view of the servers' background work (background.jsonl, sandbox/measure/background.py): the
windows for the timeline's lanes, and per store and operation the latency of the seconds that overlapped one
against the seconds that did not (the .hlog intervals added exactly)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.report import windows
from sandbox.report.table_data import Cell, TableData, ms

FILE = "background.jsonl"
MIN_SECONDS = 3  # fewer seconds inside than this: the p99 inside is one or two seconds' worth, said so


@dataclass(frozen=True)
class Work:
    store: str
    what: str
    detail: str
    start: float
    end: float


def read(path: Path) -> tuple[list[dict[str, Any]], list[Work]]:
    """(probes: what each store's probe sees and cannot, windows of background work); ([], []) without a file."""
    file = path / FILE
    if not file.is_file():
        return [], []
    probes, work = [], []
    for line in file.read_text().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        if item.get("type") == "probe":
            probes.append(item)
        elif item.get("type") == "window":
            work.append(Work(item["store"], item["what"], item["detail"], item["start"], item["end"]))
    return probes, work


def inside_outside(path: Path) -> TableData | None:
    probes, work = read(path)
    if not probes:
        return None
    t = TableData("background", "latency inside vs outside the servers' background work (seconds that overlapped "
                  "a window against the others)", ["store", "op", "background work seen", "s inside", "p99 inside",
                                                    "s outside", "p99 outside", "p99 inside / outside"])
    spans = {p["store"]: [(w.start, w.end) for w in work if w.store == p["store"]] for p in probes}
    kinds = {p["store"]: sorted({w.what for w in work if w.store == p["store"]}) for p in probes}
    for (store, op), log in windows.response_logs(path).items():
        if store not in spans:
            continue
        items = [i for i in windows.intervals(log) if i.hist.get_total_count()]
        inside = [i for i in items if windows.overlaps(i, spans[store])]
        outside = [i for i in items if not windows.overlaps(i, spans[store])]
        p_in, p_out = windows.p(windows.added(inside), 99), windows.p(windows.added(outside), 99)
        ratio = f"{p_in / p_out:.2f}x" if p_in is not None and p_out else "-"
        if inside and len(inside) < MIN_SECONDS:
            ratio += f" ({len(inside)} s inside)"
        t.add(store, op, ", ".join(kinds[store]) or "none", len(inside), ms(p_in), len(outside), ms(p_out),
              Cell(ratio, bad=p_in is not None and p_out is not None and p_in > 2 * p_out))
    for p in probes:
        for why in p.get("blind") or []:
            t.notes.append(f"{p['store']}: cannot see {why}")
        if p.get("failed_samples"):
            t.notes.append(f"{p['store']}: {p['failed_samples']} samples unanswered (server down or paused), last: "
                           f"{p.get('last_error', '-')}")
    t.notes.append("background work is sampled every 0.5 s (progress views, in-progress flags, and counters for "
                   "what started and ended between two samples); a second counts as inside when it overlaps a window")
    return t
