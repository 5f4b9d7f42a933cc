"""The partitioning step's results: rows per partition, and a query by shard key against one that is not."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from sandbox.report.console import console


def print_partitioning(runs: dict[str, Any]) -> list[str]:
    """Print what the partitioning step measured, when the run had one; returns its findings."""
    r = runs.get("partitioning")
    if r is None:
        return []
    counts = r["rows_per_partition"]
    low, high = min(counts.values()), max(counts.values())
    console.print(f"{r['server']}: {r['orders']} orders in {r['partitions']} hash partitions by "
                  f"{r.get('partition_by', 'customer_id')}; rows per "
                  f"partition {low}..{high} (max/mean {high * r['partitions'] / r['orders']:.2f})")
    table = Table(title="queries with and without the shard key (partitions and rows from EXPLAIN ANALYZE of one; "
                        "times of many, one at a time)")
    for col in ("query", "partitions scanned", "rows", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col == "query" else "right")
    for column, q in r["queries"].items():
        table.add_row(f"WHERE {column} = $1", str(q["plan"]["partitions"]), str(q["plan"]["rows"]),
                      f"{q['p50_ms']:.2f}", f"{q['p99_ms']:.2f}", f"{q['max_ms']:.2f}")
    console.print(table)
    if r["customers_in_several_partitions"]:
        finding = f"{r['customers_in_several_partitions']} customers have orders in more than one partition"
        console.print(f"  [red]finding[/]: {finding}")
        return [finding]
    return []
