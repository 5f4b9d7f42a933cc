"""The durability trials per profile and store, from summary.json's rows: what the terminal and report.html show.

Both draw from the same plain-JSON rows (DurabilityRow.to_json()), so `sandbox report DIR` redraws an
older folder's table exactly as its run printed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any

from sandbox.report.table_data import Cell, TableData, count, ms

TITLE = ("durability: each store killed (kill -9) while taking writes, restarted on the same data "
         "(measured; acked = acknowledged; loss window = the span of the lost acknowledgements' times)")


@dataclass
class DurabilityGroup:
    """One store under one durability profile, over its trials."""

    profile: str
    store: str
    server: str  # the server that answered, as it reported itself
    setting: str  # as configured (and as the server reported it, where it says)
    lost: list[int]  # acknowledged but not found after the restart, per trial
    acknowledged: list[int]
    rate_at_kill: float | None  # median over trials of the acknowledged writes/s in the second before the kill
    server_state: str  # the server's persistence state right before the kill, in the trial that lost most
    errors: str  # trials that could not be measured, and why
    unknown: int  # writes whose outcome the client never learnt, over all trials
    divergent: int
    write_p99_ms: float | None  # the worst trial's
    window_seen: int  # trials in which the kill was aimed at a loss window the server showed open
    loss_windows: list[float | None] = field(default_factory=list)  # per trial: the lost acks' span, ms

    @property
    def lost_per_trial(self) -> str:
        """Each trial's count, with the span of its lost acknowledgements' times beside a loss (older folders
        have no spans: the counts alone)."""
        windows = self.loss_windows or [None] * len(self.lost)
        return ", ".join(f"{n} ({w:.1f} ms)" if n and w is not None else str(n)
                         for n, w in zip(self.lost, windows, strict=True))

    @property
    def lost_range(self) -> tuple[int, int, int]:
        return min(self.lost), int(median(self.lost)), max(self.lost)


def groups(rows: list[dict[str, Any]]) -> list[DurabilityGroup]:
    """Rows of every trial, grouped per (profile, store) in the order they were run."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault((r["profile"], r["store"]), []).append(r)
    out = []
    for (profile, store), trials in by_key.items():
        worst = max(trials, key=lambda r: r["lost"])
        rates = [float(r["crash"]["rate_at_kill"]) for r in trials
                 if (r.get("crash") or {}).get("rate_at_kill") is not None]
        p99s = [r["write_p99_ms"] for r in trials if r.get("write_p99_ms") is not None]
        out.append(DurabilityGroup(
            profile, store, trials[0].get("server") or "-", trials[0]["setting"], [r["lost"] for r in trials],
            [r["acknowledged"] for r in trials],
            median(rates) if rates else None, worst.get("server_state") or "",
            "; ".join(f"trial {r.get('trial', 1)}: {r['error']}" for r in trials if r.get("error")),
            sum(r["unknown"] for r in trials), sum(r["divergent"] for r in trials), max(p99s, default=None),
            sum(1 for r in trials if ((r.get("crash") or {}).get("state") or {}).get("window_seen")),
            [(r.get("crash") or {}).get("loss_window_ms") for r in trials]))
    return out


def disk_lines(rows: list[dict[str, Any]]) -> list[str]:
    """With a busy disk: per profile and trial, the background writer's own fsync latencies (one line)."""
    trials = {(r["profile"], r.get("trial", 1)): r["disk"] for r in rows if r.get("disk")}
    return [f"{profile} / trial {trial}: {disk}" for (profile, trial), disk in trials.items()]


def table(durability: dict[str, Any]) -> TableData:
    """summary.json's `durability` as report.html's table: the terminal's columns, the setting and the rest
    of the terminal's lines below it as columns of their own."""
    t = TableData("durability", TITLE, ["profile", "store", "server", "durability setting", "lost min/med/max",
                                        "lost per trial (loss window)", "acked per trial", "writes/s at kill",
                                        "server at the kill (worst trial)", "killed inside the window",
                                        "unknown", "divergent", "write p99 (worst trial)"])
    previous = None
    for g in groups(durability.get("rows", [])):
        low, mid, high = g.lost_range
        t.add(g.profile if g.profile != previous else "", g.store, g.server, g.setting,
              Cell(f"{low}/{mid}/{high}", bad=high > 0), g.lost_per_trial,
              ", ".join(map(str, g.acknowledged)),
              "-" if g.rate_at_kill is None else f"{g.rate_at_kill:,.0f}",
              Cell(g.server_state + (f" {g.errors}" if g.errors else ""), bad=bool(g.errors)),
              f"{g.window_seen} of {len(g.lost)} trials" if g.window_seen else "-",
              g.unknown, count(g.divergent), ms(g.write_p99_ms))
        previous = g.profile
    t.notes += [*disk_lines(durability.get("rows", [])), f"failure simulated: {durability.get('failure_simulated')}"]
    return t
