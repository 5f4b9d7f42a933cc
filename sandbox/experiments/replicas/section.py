"""Read replicas in report.html, from summary.json: each guarantee's cost and stale reads; faults on replicas."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData, count, ms


def replicas(summary: dict[str, Any]) -> list[TableData]:
    """The replicas scenario: each guarantee's cost and stale reads; faults on replicas (docs/replicas.md)."""
    state = summary.get("replicas") or {}
    out = []
    if state.get("guarantees"):
        t = TableData("replicas", "read replicas: each guarantee's write cost beside what a reader of the replica saw",
                      ["store", "guarantee", "write p50/p99 ms", "stale read-your-writes", "lag p99/max ms",
                       "monotonic violations", "server lag median/max"])
        for g in state["guarantees"]:
            w, lag, server = g["write_ms"], g["lag_ms"], g["server_lag"]
            replay, behind = server.get("replay_s"), server.get("lag_bytes")
            told = [f"replay {ms(replay['median'] * 1000)}/{ms(replay['max'] * 1000)} ms" if replay else "",
                    f"{behind['median'] / 1024:,.1f}/{behind['max'] / 1024:,.1f} KiB" if behind else ""]
            t.add(g["store"], g["guarantee"], f"{ms(w.get('p50'))}/{ms(w.get('p99'))}",
                  f"{g['stale_read_your_writes']}/{g['markers']}", f"{ms(lag.get('p99'))}/{ms(lag.get('max'))}",
                  count(g["monotonic_violations"]), ", ".join(x for x in told if x) or "-")
        t.notes += [f"{store}: {why}" for store, why in (state.get("without_replicas") or {}).items()]
        out.append(t)
    if state.get("faults"):
        t = TableData("replica-faults", "faults on replicas",
                      ["store", "fault", "guarantee", "lag max s", "recovery s", "replica reads failed (fell back)",
                       "acknowledged", "lost on the promoted node", "other verdicts"])
        for f in state["faults"]:
            reads, counts = f.get("reads") or {}, (f.get("check") or {}).get("counts") or {}
            lag_max = (reads.get("lag_ms") or {}).get("max")
            t.add(f["store"], f"{f['action']} {f['seconds']:g} s", f["guarantee"],
                  "-" if lag_max is None else f"{lag_max / 1000:.2f}",
                  "-" if f.get("recovery_s") is None else f"{f['recovery_s']:.2f}",
                  f"{reads['replica_read_errors']} ({reads['fallback_reads']})" if reads else "-",
                  f["acknowledged"] if f["action"] == "promote" else "-",
                  count(counts.get("lost")) if counts else "-",
                  ", ".join(f"{n} {k}" for k, n in counts.items() if n and k not in ("ok", "lost", "not_attempted"))
                  or "-")
        out.append(t)
    return out
