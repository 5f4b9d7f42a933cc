"""The reshard step's results: what moved, what the clients saw, and whether every order survived."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from sandbox.report.console import console

LOST_OR_WORSE = ("lost", "divergent", "unexpected", "failed_but_present", "timed_out_but_present")


def findings(result: dict[str, Any]) -> list[str]:
    out = []
    check = result.get("check")
    if check is None:
        return ["the orders were not read back (the step stopped early; see the notes)"]
    if check["error"]:
        out.append(f"read-back failed: {check['error']}")
    out += [f"{check['counts'][v]} orders {v}" for v in LOST_OR_WORSE if check["counts"].get(v)]
    if result["duplicates"]:
        out.append(f"{result['duplicates']} orders listed twice")
    if not result["aggregates_match"]:
        out.append("per-status counters differ from the orders the cluster holds")
    if result["slot_check"]["mismatches"]:
        out.append(f"{len(result['slot_check']['mismatches'])} keys: sandbox slot differs from CLUSTER KEYSLOT")
    return out


def timeline_table(result: dict[str, Any]) -> Table:
    windows = [(e["start_s"], e["end_s"], e["event"]) for e in result["events"]]
    table = Table(title="latency per second (ms, from each operation's intended start); * = slots migrating")
    for col in ("second", "op", "ops", "errors", "p50", "p99", "max", "cluster"):
        table.add_column(col, justify="left" if col in ("op", "cluster") else "right")
    for row in result["timeline"]:
        t = row["second"]
        during = [name for start, end, name in windows if start - 1 < t <= end + 1]
        ms = [("-" if row[k] is None else f"{row[k]:.1f}") for k in ("response_p50_ms", "response_p99_ms",
                                                                     "response_max_ms")]
        table.add_row(f"{t:.0f}", row["op"], str(row["ops"]), str(row["errors"]), *ms,
                      ("* " + ", ".join(during)) if during else "")
    return table


def print_reshard(runs: dict[str, Any]) -> list[str]:
    """Print what the reshard step measured, when the run had one; returns its findings."""
    result = runs.get("reshard")
    if result is None:
        return []
    console.print(f"reshard on {result['server']} (ports {result['ports']}), writes {result['rate']:g}/s "
                  f"and reads {result['read_rate']:g}/s; model: {result['model']}")
    if result.get("timeline"):
        console.print(timeline_table(result))
    for e in result["events"]:
        console.print(f"  {e['event']}: {e['start_s']:.1f} s -> {e['end_s']:.1f} s ({e['end_s'] - e['start_s']:.1f} s)")
    if grow := result.get("grow"):
        console.print(f"  grown to {grow['masters']} masters: {grow['slots_moved']} of 16384 slots moved "
                      f"({grow['slot_share']:.1%}, ideal 1/(N+1) = {grow['ideal']:.1%}); the new master then held "
                      f"{grow['key_share']:.1%} of the keys")
    if shrink := result.get("shrink"):
        console.print(f"  drained and removed: {shrink['slots_left_on_removed']} slots left on it, "
                      f"{shrink['masters_after']} masters serve all slots")
    for phase, counts in result["redirections"].items():
        console.print(f"  error replies while {'growing' if phase == 'grow' else 'shrinking'} (INFO errorstats, "
                      f"all nodes): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for op, o in result.get("operations", {}).items():
        console.print(f"  {op}: ok {o['ok']}, failed {o['failed']}, unknown {o['unknown']}"
                      + (f"; first error: {o['errors'][0]}" if o["errors"] else ""))
    if "check" in result:
        counts = {k: v for k, v in result["check"]["counts"].items() if v}
        console.print(f"  read back {result['sent']} orders sent: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                      + f"; duplicates {result['duplicates']}; counters "
                      + ("match" if result["aggregates_match"] else "[red]DIFFER[/]"))
        console.print(f"  slot check: {result['slot_check']['keys']} keys, "
                      f"{len(result['slot_check']['mismatches'])} differ from CLUSTER KEYSLOT")
    found = findings(result)
    for line in found:
        console.print(f"  [red]finding[/]: {line}")
    return found
