"""report.html's bars of the projection: each store's bytes held at the horizon and its monthly cost there, from
summary.json `footprint.projection` (matplotlib, drawn only when a page is drawn)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from matplotlib.figure import Figure

from sandbox.report.plots import color_of


def cost_figure(projection: dict[str, Any]) -> Figure:
    stores = list(projection["stores"])
    colors = color_of(stores)
    fig = Figure(figsize=(11, max(2.8, 1.2 + 0.45 * len(stores))), layout="constrained")
    size_ax, cost_ax = fig.subplots(1, 2, sharey=True)
    ys = range(len(stores))
    held = [projection["stores"][s]["bytes_at_horizon"] / 1e9 for s in stores]
    cost = [float(Decimal(projection["stores"][s]["monthly_cost_at_horizon"])) for s in stores]
    bar_colors = [colors[s] for s in stores]
    size_ax.barh(ys, held, color=bar_colors)
    cost_ax.barh(ys, cost, color=bar_colors)
    size_ax.set_yticks(list(ys), [f"{s} ({projection['stores'][s]['tier']})" for s in stores])
    size_ax.invert_yaxis()
    size_ax.set_xlabel("GB held at the horizon (10^9 bytes, one copy)")
    cost_ax.set_xlabel(f"{projection['currency']} / month at the horizon (prices of {projection['prices']['date']})")
    for ax, values, fmt in ((size_ax, held, "{:,.1f}"), (cost_ax, cost, "{:.2f}")):
        for y, v in zip(ys, values, strict=True):
            ax.annotate(fmt.format(v), (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
        ax.margins(x=0.15)
    return fig
