"""The isolate step in report.html, from summary.json `network`."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData


def isolation(summary: dict[str, Any]) -> TableData | None:
    network = summary.get("network")
    if not network or not network.get("stores"):
        return None
    t = TableData("network", "stores reached through a network namespace and veth pair (a partition cuts the link)",
                  ["store", "clients connect to", "host end", "namespace end", "partition"])
    for name, s in network["stores"].items():
        t.add(name, s["address"], s["host_end"], s["namespace_end"], s["partition"])
    t.notes.append(f"latency injection: {network.get('latency_injection') or '-'}; with Docker, compose/toxiproxy.yml "
                   "(docs/faults.md)")
    return t
