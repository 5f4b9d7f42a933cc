"""`sandbox merge`: N workers' folders into one results folder, exactly.

Histograms are added (HdrHistogram addition: every recorded value counts once, so the merged
percentiles are those of all operations together, never an average of percentiles); counts are
summed. History times are moved onto one time line using each worker's wall clock at its history's
start plus its measured offset to the reference clock (see sandbox.measure.workers.clock); timeline
rows gain a `worker` column; each worker's .hlog interval logs are copied under hlog/worker-<i>/.
summary.json records every worker's host, clock offset and start lag.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.hlog import FOLDER
from sandbox.measure.latency import OpStats
from sandbox.measure.processes import stats_from_wire
from sandbox.measure.timeline import COLUMNS
from sandbox.measure.workers.run import FORMAT

SAME_RUN = ("seed", "orders", "workers", "namespace", "stores", "batch")


def _read_worker(folder: Path) -> dict[str, Any]:
    path = folder / "worker.json"
    if not path.is_file():
        raise UsageError(f"{folder} is not a finished worker folder (no worker.json): pass <out>/worker-<i> folders")
    doc = json.loads(path.read_text())
    if doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a {FORMAT} file")
    doc["folder"] = folder
    return doc


def _check_one_run(docs: list[dict[str, Any]]) -> None:
    first = docs[0]
    for doc in docs[1:]:
        for key in SAME_RUN:
            if doc[key] != first[key]:
                raise UsageError(f"{doc['folder']} is from another run ({key} {doc[key]!r}, "
                                 f"{first['folder']} has {first[key]!r})")
    indexes = sorted(d["index"] for d in docs)
    if len(set(indexes)) != len(indexes):
        raise UsageError(f"worker index given twice among the folders: {indexes}")
    missing = sorted(set(range(first["workers"])) - set(indexes))
    if missing:
        raise UsageError(f"workers {missing} of {first['workers']} are missing: merge all workers' folders")


def _origin(doc: dict[str, Any]) -> float:
    """This worker's history time 0 on the reference clock (its own clock when no offset was measured)."""
    with open(doc["folder"] / "history.jsonl") as f:
        header = json.loads(f.readline())
    return float(header["wall_clock_at_0"]) + (doc["clock"]["offset_s"] if doc["clock"] else 0.0)


def _merge_history(docs: list[dict[str, Any]], path: Path) -> None:
    origins = {d["index"]: _origin(d) for d in docs}
    zero = min(origins.values())
    workers = len(docs)
    with open(path, "w") as out:
        out.write(json.dumps({"type": "header", "model": "jepsen invoke/ok/fail/info", "time_unit": "ns",
                              "reference_clock_at_0": zero, "merged_workers": workers}) + "\n")
        for doc in sorted(docs, key=lambda d: d["index"]):
            shift = round((origins[doc["index"]] - zero) * 1e9)
            with open(doc["folder"] / "history.jsonl") as f:
                next(f)  # the worker's own header
                for line in f:
                    event = json.loads(line)
                    event["time"] += shift
                    event["worker"] = doc["index"]
                    if "op" in event:  # unique across workers: worker i's op k becomes k * N + i
                        event["op"] = event["op"] * workers + doc["index"]
                    out.write(json.dumps(event, separators=(",", ":")) + "\n")


def _merge_timelines(docs: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, ("worker", *COLUMNS))
        writer.writeheader()
        for doc in sorted(docs, key=lambda d: d["index"]):
            with open(doc["folder"] / "timeline.csv", newline="") as f:
                for row in csv.DictReader(f):
                    writer.writerow({"worker": doc["index"], **row})


def worker_folders(paths: list[Path]) -> list[Path]:
    """Each path as given, or, for a workers' output folder, its worker-<i> folders."""
    found: list[Path] = []
    for path in paths:
        inside = sorted(path.glob("worker-*/worker.json")) if not (path / "worker.json").exists() else []
        found.extend(p.parent for p in inside) if inside else found.append(path)
    return found


def merge(folders: list[Path], out: Path) -> dict[str, Any]:
    """Merge worker folders into `out` (summary.json, history.jsonl, timeline.csv); returns the summary."""
    if not folders:
        raise UsageError("name the worker folders to merge: sandbox merge OUT/worker-0 OUT/worker-1 ... (or OUT)")
    docs = [_read_worker(f) for f in worker_folders(folders)]
    _check_one_run(docs)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty: merge into a new folder")
    merged: dict[str, OpStats] = {name: OpStats() for name in docs[0]["stores"]}
    for doc in docs:
        for name, wire in json.loads((doc["folder"] / "stats.json").read_text()).items():
            merged[name].merge(stats_from_wire(wire))
    first = docs[0]
    # They start together, so the phase lasted as long as its slowest worker; per-worker client loads
    # (CPU, schedule lag) do not add up and stay in each worker's entry.
    elapsed = {name: max(d["loads"][name]["elapsed_s"] for d in docs) for name in first["stores"]}
    summary = {
        "merged_workers": first["workers"], "seed": first["seed"], "orders": first["orders"],
        "namespace": first["namespace"], "batch": first["batch"],
        "sent": {name: sum(d["sent"][name] for d in docs) for name in first["stores"]},
        "workers": [{key: d[key] for key in ("index", "host", "pid", "began", "start_lag_s", "clock", "servers",
                                             "loads", "concurrency", "rate")}
                    for d in sorted(docs, key=lambda d: d["index"])],
        "clock_note": None if all(d["clock"] for d in docs) else
        "some workers measured no clock offset (no PostgreSQL or Redis in the run): their histories use "
        "their own clocks",
        "stores": {name: {"elapsed_s": round(elapsed[name], 3),
                          "throughput_orders_s": round(stats.items / elapsed[name], 1) if elapsed[name] else None,
                          "operations": {"write": stats.to_json()}} for name, stats in merged.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    _merge_history(docs, out / "history.jsonl")
    _merge_timelines(docs, out / "timeline.csv")
    for doc in docs:  # per-second .hlog interval logs stay per worker: intervals of different clocks
        if (doc["folder"] / FOLDER).is_dir():
            shutil.copytree(doc["folder"] / FOLDER, out / FOLDER / f"worker-{doc['index']}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
