"""A table as plain cells: what the terminal, report.html and compare.html all render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    text: str
    bad: bool = False  # a finding: drawn in red


@dataclass
class TableData:
    id: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell("-" if c is None else str(c)) for c in cells])


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def count(n: int | None) -> Cell:
    return Cell("-") if n is None else Cell(str(n), bad=bool(n))
