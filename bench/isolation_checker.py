"""(h) The isolation checker alone (no server): transactions checked per second on generated 100k-transaction
list-append histories, one from the in-memory serializable model (no cycles: the common case, every
transaction still ordered and searched) and one from snapshot isolation (thousands of G2-item components,
each classified and given an example). Each check runs in a fresh process; the history is generated
there before the clock starts, so the rate is check() alone: pairing, version orders, edges, components,
cycle search. Budget (docs/isolation.md): 100,000 transactions in at most 20 s, i.e. >= 5,000 txns/s.

    python -m bench.isolation_checker [--txns 100000] [--level serializable|snapshot-isolation|read-committed]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.common import Row
from bench.repeats import Samples, SideResult, alternate

BUDGET_S = 20.0
HISTORIES = ("serializable", "snapshot-isolation")
CHILD = """
import json, sys, time
from sandbox.measure.isolation import check
from sandbox.measure.isolation.simulate import run
from sandbox.measure.isolation.workload import TxnGenerator, TxnSpec
txns, level = int(sys.argv[1]), sys.argv[2]
history = run(level, TxnGenerator(TxnSpec(keys=10), seed=1), txns, concurrency=10, seed=1, fail_share=0.02,
              info_share=0.02)
cpu, wall = time.process_time(), time.perf_counter()
result = check(history)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
hwm_kb = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
print(json.dumps({"txns_s": txns / wall, "cpu_us": cpu / txns * 1e6, "seconds": wall, "rss_mb": hwm_kb / 1024,
                  "anomalies": result.anomaly_counts, "components": result.graph["components"]}))
"""


def child(txns: int, level: str) -> dict[str, object]:
    """One check in its own process: txns/s, CPU µs per transaction, seconds, peak RSS, what it found."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(txns), level], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


async def bench(txns: int) -> list[Row]:
    """One row per generated history: the checker's rate against the budget's rate."""
    rows = []
    for level in HISTORIES:
        found: list[dict[str, object]] = []

        async def side(level: str = level, found: list[dict[str, object]] = found) -> SideResult:
            result = child(txns, level)
            found.append(result)
            return float(result["txns_s"]), float(result["cpu_us"])  # type: ignore[arg-type]

        samples = await alternate({"sandbox": side})
        last = found[-1]
        rss = sorted(float(r["rss_mb"]) for r in found)[len(found) // 2]  # type: ignore[arg-type]
        rows.append(Row(
            f"(h) isolation checker, {txns:,} list-append transactions from the {level} model", "none (pure Python)",
            "txns/s", samples["sandbox"], Samples(), harness_target=None, rate_target=100_000 / BUDGET_S,
            note=f"no bare or native side; target: the stated budget (100k in <= {BUDGET_S:g} s); found "
                 f"{last['anomalies'] or 'nothing'} in {last['components']} components; peak RSS {rss:.0f} MB",
            why_harness="pure Python on one core: the checker's cost is its per-micro-op loops (profile: "
                        "history pairing, the version-order scan and graph edges, then Tarjan)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation_checker", description=__doc__.splitlines()[0])
    parser.add_argument("--txns", type=int, default=100_000)
    parser.add_argument("--level", default="serializable",
                        choices=("serializable", "snapshot-isolation", "read-committed"))
    args = parser.parse_args()
    r = child(args.txns, args.level)
    print(f"{args.txns:,} transactions ({args.level} model): checked in {r['seconds']:.2f} s, "
          f"{r['txns_s']:,.0f} txns/s, {r['cpu_us']:.1f} µs CPU per txn, peak RSS {r['rss_mb']:.0f} MB; "
          f"found {r['anomalies'] or 'nothing'} (budget: 100k in <= {BUDGET_S:g} s)")


if __name__ == "__main__":
    main()
