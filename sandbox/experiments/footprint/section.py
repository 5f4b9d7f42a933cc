"""The footprint section of report.html, from summary.json `footprint` (older folders without it: none)."""

from __future__ import annotations

from typing import Any

from sandbox.experiments.footprint import rows


def values(summary: dict[str, Any]) -> dict[str, Any] | None:
    section = summary.get("footprint")
    if not section or not section.get("stores"):
        return None
    return {"readings": rows.readings(section), "fits": rows.fits(section)}
