"""Pages from Jinja2 templates: report.html and compare.html (templates/), and the sections experiments
render from templates in their own folders with the same macros (templates/macros.html.j2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from sandbox.report.table_data import Cell

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TEMPLATES = Path(__file__).resolve().parent / "templates"
NUMBER = re.compile(r"[-+]?[\d,.]+ ?(%|s|ms)?|-")


@dataclass(frozen=True)
class Plot:
    """A figure inlined as SVG, with the PNG written beside the page for slides."""

    id: str
    svg: Markup
    png: str  # file name beside the page
    caption: str


class Draw:
    """Draws figures into a results folder (the PNG beside the page, the SVG for inlining)."""

    def __init__(self, out: Path):
        self.out = out

    def figure(self, fig: Figure, png_name: str, caption: str) -> Plot:
        from sandbox.report import plots  # matplotlib: only when a page is drawn

        png = self.out / png_name
        return Plot(png.stem, Markup(plots.render(fig, png)), png.name, caption)


class Sections(Protocol):
    """What the caller (the CLI: the registered experiments) adds to a run's page, each a rendered section."""

    def sections(self, summary: dict[str, Any], draw: Draw | None) -> list[str]: ...


def cell_classes(cell: Cell, numeric: bool) -> str:
    return " ".join(k for k, on in (("bad", cell.bad), ("num", numeric and NUMBER.fullmatch(cell.text))) if on)


def environment(*folders: Path) -> Environment:
    """Templates from `folders` first, then the report's own (page.html.j2, macros.html.j2)."""
    env = Environment(loader=ChoiceLoader([FileSystemLoader([*map(str, folders), str(TEMPLATES)])]),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals["cell_classes"] = cell_classes
    return env


def render(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values)


def render_section(folder: Path, template: str, values: dict[str, Any]) -> str:
    """An experiment's section, from the template in its own folder."""
    return environment(folder).get_template(template).render(**values)


def write_page(out: Path, template: str, **values: Any) -> Path:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(render(template, **values))
    tmp.replace(out)  # never a half-written page
    return out
