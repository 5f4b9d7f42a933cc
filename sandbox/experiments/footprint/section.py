"""The footprint section of report.html, from summary.json `footprint` (older folders without it: none)."""

from __future__ import annotations

from typing import Any

from sandbox.experiments.footprint import rows
from sandbox.report.page import Draw


def values(summary: dict[str, Any], draw: Draw | None = None) -> dict[str, Any] | None:
    section = summary.get("footprint")
    if not section or not (section.get("stores") or section.get("index_cost")):
        return None
    projected = section.get("projection")
    plot = None
    if draw is not None and projected and projected.get("stores"):
        from sandbox.experiments.footprint.bars import cost_figure  # matplotlib: only when a page is drawn

        plot = draw.figure(cost_figure(projected), "footprint-cost.png",
                           f"each store's bytes and monthly cost at the horizon ({projected['input']})")
    return {"cost_plot": plot, "readings": rows.readings(section) if section.get("stores") else None,
            "fits": rows.fits(section) if section.get("stores") else None,
            "projection": rows.projection(section), "index_cost": rows.index_cost(section)}


def matrix(summary: dict[str, Any], rid: str) -> list[tuple[str, str, str]]:
    """The selection matrix's cost row: bytes per root held, and the monthly cost where the run projected one."""
    section = summary.get("footprint") or {}
    projected = (section.get("projection") or {})
    out = []
    for name, s in (section.get("stores") or {}).items():
        if not s.get("fit"):
            continue
        text = f"{s['fit']['per_entity_bytes']:.0f} B/root held " + \
            ("in memory" if s.get("held_in") == "memory" else "on disk")
        if (p := projected.get("stores", {}).get(name)) is not None:
            text += (f"; {projected['currency']} {p['monthly_cost_at_horizon']}/month for "
                     f"{rows.count(projected['horizon_entities'])} roots ({rows.human(p['bytes_at_horizon'])} "
                     f"on {p['tier']}, prices of {projected['prices']['date']})")
        out.append((name, "cost", text + f" (run {rid})"))
    return out
