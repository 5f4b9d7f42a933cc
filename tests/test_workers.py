"""Load workers end to end: N `sandbox worker` processes on the real stores, then `sandbox merge`, checked
against one worker process writing the same orders (counts, outcomes, histograms; see the main test)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from sandbox.measure.history import read_history
from sandbox.measure.latency import decode, new_histogram, record_many_ns, summarize
from tests.helpers import SANDBOX, dataset

PROJECT = Path(__file__).resolve().parent.parent
STORES = ("redis", "postgres")
SEED, ORDERS, WORKERS = 23, 600, 3
# A worker's stats.json key -> the key of the same thing in a merged summary's operations.write
COUNTS = {"ok": "ok", "failed": "failed", "unknown": "unknown", "items": "orders"}
HISTOGRAMS = {"response": "hdr", "service": "hdr_service", "processing": "hdr_processing",
              "failed_response": "hdr_failed", "unknown_response": "hdr_unknown"}


def sandbox(*args: str, **env: str) -> subprocess.Popen[str]:
    full = {**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), **env}
    return subprocess.Popen([*SANDBOX, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    return out


def write_spec(path: Path, namespace: str, out: Path, workers: int) -> Path:
    path.write_text(f'seed = {SEED}\norders = {ORDERS}\nworkers = {workers}\nnamespace = "{namespace}"\n'
                    f'stores = {json.dumps(list(STORES))}\nout = "{out}"\nconcurrency = 4\nindex = "auto"\n')
    return path


async def prepared(open_model_store, namespace: str) -> list:  # type: ignore[no-untyped-def]
    stores = [await open_model_store(name, namespace) for name in STORES]
    for store in stores:
        await store.prepare(dataset(ORDERS, SEED))  # torn down by the fixture after the test
    return stores


def service_times_from_history(path: Path) -> dict[str, list[int]]:
    """Per store, completion minus invoke of every ok write: the service times the histograms hold."""
    invoked: dict[int, int] = {}
    times: dict[str, list[int]] = defaultdict(list)
    for event in read_history(path):
        if event["type"] == "invoke":
            invoked[event["op"]] = event["time"]
        elif event["type"] == "ok":
            times[event["store"]].append(event["time"] - invoked[event["op"]])
    return times


def buckets(histogram: HdrHistogram) -> list[tuple[int, int]]:
    """Every recorded bucket (value, count): two histograms with the same buckets have every percentile equal."""
    return [(v.value_iterated_to, v.count_added_in_this_iter_step) for v in histogram.get_recorded_iterator()]


def outcomes(path: Path) -> dict[str, dict[str, set[str]]]:
    """Per store and outcome (ok, fail, info), the order ids of the writes that ended so."""
    keys: dict[int, list[str]] = {}
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for event in read_history(path):
        if event["type"] == "invoke":
            keys[event["op"]] = event["value"]
        elif event["type"] in ("ok", "fail", "info") and "op" in event:
            out[event["store"]][event["type"]].update(keys[event["op"]])
    return out


def written_ids(path: Path) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for event in read_history(path):
        if event["type"] == "invoke":
            ids[event["store"]].update(event["value"])
    return ids


async def test_workers_write_the_stream_once_and_merge_exactly(open_model_store, tmp_path: Path) -> None:
    # N workers, each every N-th order, started together on the same spec and merged.
    split_ns, single_ns = f"sbx_test_w{os.getpid()}a", f"sbx_test_w{os.getpid()}b"
    split = await prepared(open_model_store, split_ns)
    await prepared(open_model_store, single_ns)
    spec = write_spec(tmp_path / "split.toml", split_ns, tmp_path / "split", WORKERS)
    start_at = str(time.time() + 6)  # the workers' imports and connects fit in this on a busy 2-core machine
    procs = [sandbox("worker", "--spec", str(spec), SANDBOX_WORKER_START_AT=start_at) for _ in range(WORKERS)]
    # The same orders by one process, into its own namespace, for comparison.
    one = sandbox("worker", "--spec", str(write_spec(tmp_path / "one.toml", single_ns, tmp_path / "one", 1)))
    for proc in [*procs, one]:
        finish(proc)
    folders = sorted((tmp_path / "split").glob("worker-*"))
    assert [f.name for f in folders] == [f"worker-{i}" for i in range(WORKERS)]
    finish(sandbox("merge", *map(str, folders), "--out", str(tmp_path / "merged")))
    summary = json.loads((tmp_path / "merged" / "summary.json").read_text())
    for i in range(WORKERS):
        assert (tmp_path / "merged" / "hlog" / f"worker-{i}" / "redis.write.response.hlog").is_file()
    single = json.loads((tmp_path / "one" / "worker-0" / "stats.json").read_text())
    finish(sandbox("merge", str(tmp_path / "one" / "worker-0"), "--out", str(tmp_path / "alone")))
    alone = json.loads((tmp_path / "alone" / "summary.json").read_text())

    # Every order written once, by exactly one worker, and all of them in each store.
    expected = {o["id"] for o in dataset(ORDERS, SEED).roots()}
    assert summary["sent"] == dict.fromkeys(STORES, ORDERS)
    assert all(summary["stores"][name]["throughput_orders_s"] > 0 for name in STORES)
    merged_ids = written_ids(tmp_path / "merged" / "history.jsonl")
    assert merged_ids == written_ids(tmp_path / "one" / "worker-0" / "history.jsonl") == dict.fromkeys(STORES, expected)
    for store in split:
        assert {r["id"] async for r in store.scan("order")} == expected

    # Exact merge: the merged histograms hold every operation's time once, as the merged history does.
    history_times = service_times_from_history(tmp_path / "merged" / "history.jsonl")
    for name in STORES:
        write = summary["stores"][name]["operations"]["write"]
        assert write["ok"] == ORDERS == single[name]["ok"]
        merged_service = decode(write["hdr_service"])
        from_history = new_histogram()  # all workers' values in one histogram, as one process records them
        record_many_ns((from_history,), history_times[name])
        assert merged_service.get_total_count() == from_history.get_total_count() == ORDERS
        assert buckets(merged_service) == buckets(from_history)
        for p in (1, 50, 90, 99, 99.9, 100):
            assert merged_service.get_value_at_percentile(p) == from_history.get_value_at_percentile(p), p
        # A merged median lies between the workers' medians (it is a median of all values, not a mean).
        worker_p50 = [decode(json.loads((f / "stats.json").read_text())[name]["response"])
                      .get_value_at_percentile(50) for f in folders]
        assert min(worker_p50) <= decode(write["hdr"]).get_value_at_percentile(50) <= max(worker_p50)
        assert decode(single[name]["response"]).get_total_count() == ORDERS

    # Merging one worker's folder is the identity: the single-process run's counts and histograms come back
    # bucket for bucket, so the percentiles a merge reports for it are the ones it measured itself.
    for name in STORES:
        own, merged_alone = single[name], alone["stores"][name]["operations"]["write"]
        assert {key: own[key] for key in COUNTS} == {key: merged_alone[to] for key, to in COUNTS.items()}
        for key, to in HISTOGRAMS.items():
            assert buckets(decode(merged_alone[to])) == buckets(decode(own[key])), key
        assert merged_alone["latency_ms"] == summarize(decode(own["response"]))
        assert merged_alone["service_ms"] == summarize(decode(own["service"]))

    # The split run against the single-process run of the same orders: every order ended the same way in
    # both, the counts per outcome are equal and every histogram holds as many values. Their latencies
    # differ (no two runs time alike), so what the split run's percentiles are checked against is one
    # histogram of all its values, as a single process recording them would hold (above, from the history).
    assert outcomes(tmp_path / "merged" / "history.jsonl") == outcomes(tmp_path / "one" / "worker-0" / "history.jsonl")
    for name in STORES:
        split_write, one_write = (s["stores"][name]["operations"]["write"] for s in (summary, alone))
        assert {key: split_write[key] for key in COUNTS.values()} == {key: one_write[key] for key in COUNTS.values()}
        for key in HISTOGRAMS.values():
            assert decode(split_write[key]).get_total_count() == decode(one_write[key]).get_total_count(), key

    # Each worker's host and clock offset against a store's clock are recorded.
    for worker in summary["workers"]:
        assert worker["host"] and worker["clock"]["reference"].startswith("redis at ")
        assert abs(worker["clock"]["offset_s"]) < 1.0 and worker["clock"]["uncertainty_s"] >= 0


@pytest.mark.parametrize("spec, env, words", [
    ('seed = 1\norders = 10\nnamespace = "sbx_x"\nstores = ["redis"]\nout = "o"\n', {"SANDBOX_WORKER_WORKERS": "2"},
     "SANDBOX_WORKER_INDEX"),
    ('seed = 1\norders = 10\nworkers = 2\nindex = 5\nnamespace = "sbx_x"\nstores = ["redis"]\nout = "o"\n', {},
     "worker index 5 is outside 0..1"),
    ('seed = 1\norders = 10\nnamespace = "sbx_x"\nstores = ["mysql"]\nout = "o"\n', {}, "unknown store mysql"),
    ('orders = 10\nnamespace = "sbx_x"\nstores = ["redis"]\nout = "o"\n', {}, "seed is missing"),
    ('seed = 1\norders = 0\nnamespace = "sbx_x"\nstores = ["redis"]\nout = "o"\n', {}, "orders: must be a positive"),
    ('seed = 1\norders = 10\nnamespace = "public"\nstores = ["redis"]\nout = "o"\n', {}, "namespace: expected sbx_"),
])
def test_bad_worker_specs_exit_2_with_one_line(spec: str, env: dict[str, str], words: str, tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(spec)
    proc = sandbox("worker", "--spec", str(path), **env)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err, err


def test_merge_refuses_an_incomplete_set_of_workers(tmp_path: Path) -> None:
    folder = tmp_path / "worker-1"
    folder.mkdir()
    (folder / "worker.json").write_text(json.dumps({
        "format": "sandbox-worker/1", "index": 1, "workers": 3, "seed": 1, "orders": 9, "namespace": "sbx_x",
        "stores": ["redis"], "batch": 1}))
    proc = sandbox("merge", str(folder), "--out", str(tmp_path / "merged"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "workers [0, 2] of 3 are missing" in err, out + err
    assert not (tmp_path / "merged").exists(), "nothing written"
