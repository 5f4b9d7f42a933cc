"""The routing step's results: predicted against answered shard per routing value."""

from __future__ import annotations

from typing import Any

from sandbox.report.console import console


def print_routing(runs: dict[str, Any]) -> list[str]:
    """Print what the routing step measured, when the run had one; returns its findings."""
    r = runs.get("routing")
    if r is None:
        return []
    console.print(f"routing on {r['server']}: {r['keys']} customer ids, {r['shards']} primary shards "
                  f"({r['routing_shards']} routing shards): predicted shard = server's for {r['matched']}, "
                  f"different for {r['mismatches']}; per shard {r['per_shard']}")
    if not r["mismatches"]:
        return []
    for e in r["examples"]:
        console.print(f"  {e['routing']}: predicted {e['predicted']}, server {e['server']}")
    return [f"{r['mismatches']} routing values on another shard than predicted"]
