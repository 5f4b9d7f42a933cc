"""The sharding step's results: a table of keys moved and keys per shard, and the moved-fraction plot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from sandbox.report.console import console
from sandbox.report.table_data import Cell, TableData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_FILE = "moved_fraction.svg"
CONSISTENT = ("ring", "jump", "rendezvous")  # must move nothing but the changed shard's keys


def findings(result: dict[str, Any]) -> list[str]:
    """A consistent scheme that moved a key between two shards that both stayed."""
    return [f"{m['scheme']} {m['n_from']}->{m['n_to']} ({m['key_kind']}): a moved key did not go to the new shard "
            "(or come from the removed one)"
            for m in result["movements"] if m["scheme"] in CONSISTENT and not m["only_changed_shard"]]


def _title(result: dict[str, Any]) -> str:
    return (f"keys moved when the shard count changes ({result['keys']:,} keys of each kind, "
            f"ring with {result['vnodes']} virtual nodes per shard)")


def movement_table(result: dict[str, Any]) -> Table:
    table = Table(title=_title(result),
                  caption="ideal: the new shard's fair share 1/(N+1), or the removed shard's 1/N; max/mean: keys "
                          "on the fullest shard over the average, before and after")
    for col in ("keys", "scheme", "shards", "moved", "ideal", "moved / ideal", "only the changed shard",
                "max/mean before", "after"):
        left = col in ("keys", "scheme", "shards")
        table.add_column(col, justify="left" if left else "right", no_wrap=left)
    for m in result["movements"]:
        ok = m["only_changed_shard"]
        flag = "yes" if ok else ("[red]NO[/]" if m["scheme"] in CONSISTENT else "no")
        table.add_row(m["key_kind"], m["scheme"], f"{m['n_from']} -> {m['n_to']}", f"{m['moved_fraction']:.2%}",
                      f"{m['ideal']:.2%}", f"{m['moved_fraction'] / m['ideal']:.2f}", flag,
                      f"{m['max_over_mean_before']:.3f}", f"{m['max_over_mean_after']:.3f}")
    return table


def movement_data(result: dict[str, Any]) -> TableData:
    """The movement table for report.html (docs/sharding.md)."""
    t = TableData("sharding", _title(result),
                  ["keys", "scheme", "shards", "moved", "ideal", "moved / ideal", "only the changed shard",
                   "max/mean before", "after"])
    for m in result["movements"]:
        t.add(m["key_kind"], m["scheme"], f"{m['n_from']} -> {m['n_to']}", f"{m['moved_fraction']:.2%}",
              f"{m['ideal']:.2%}", f"{m['moved_fraction'] / m['ideal']:.2f}",
              Cell("yes" if m["only_changed_shard"] else "no",
                   bad=m["scheme"] in CONSISTENT and not m["only_changed_shard"]),
              f"{m['max_over_mean_before']:.3f}", f"{m['max_over_mean_after']:.3f}")
    t.notes.append("ideal: the new shard's fair share 1/(N+1), or the removed shard's 1/N")
    return t


def moved_fraction_figure(result: dict[str, Any]) -> Figure:
    """Fraction of keys moved when one shard is added, per scheme, against the ideal 1/(N+1)."""
    # Imported here, not at the top: matplotlib costs half a second every other command would pay.
    from matplotlib.figure import Figure

    curve = result["curve"]
    fig = Figure(figsize=(7, 4.5))  # no pyplot: no global figure state
    ax = fig.subplots()
    for scheme, fractions in curve["moved_fraction"].items():
        ax.plot(curve["n"], fractions, marker="o", label=scheme)
    ax.plot(curve["n"], curve["ideal"], linestyle="--", color="black", label="ideal 1/(N+1)")
    ax.set(xscale="log", yscale="log", xlabel="shards N (growing to N+1)", ylabel="fraction of keys moved",
           title=f"Keys moved adding one shard ({len(curve['n'])} values of N, "
                 f"{result['keys']:,} {curve['key_kind']} keys)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot(result: dict[str, Any], path: Path) -> Path:
    moved_fraction_figure(result).savefig(path)
    return path


def print_sharding(runs: dict[str, Any], results_dir: Path) -> list[str]:
    """Print the table and write the plot when the run had a sharding step; returns its findings."""
    result = runs.get("sharding")
    if result is None:
        return []
    console.print(movement_table(result))
    slowest = max(result["seconds"].items(), key=lambda kv: kv[1])
    console.print(f"  time: {sum(result['seconds'].values()):.1f} s in all, slowest: {slowest[0]} "
                  f"{slowest[1]:.1f} s (summary.json: experiments.sharding.seconds)")
    results_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"  plot: {plot(result, results_dir / PLOT_FILE)}")
    found = findings(result)
    for line in found:
        console.print(f"  [red]finding[/]: {line}")
    return found
