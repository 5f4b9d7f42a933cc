"""decision.html: the same record as decision.md (its Markdown rendered by markdown-it), the architecture diagram
inlined as SVG; one file that opens offline (no script, no stylesheet or font fetched). Its links are
decision.md's: `../RUN/summary.json#dotted.path`, beside this run's folder."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

from sandbox.report.evaluation.decision_md import DIAGRAM
from sandbox.report.page import environment

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _html(lines: list[str]) -> Markup:
    # html=False: a store's error text in a verdict is shown as text, never parsed as markup
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup(md.render("\n".join(lines)).replace("<table>", '<table class="data">'))


def write(folder: Path, lines: list[str], svg: str, title: str) -> Path:
    """decision.html beside decision.md; `lines` are the record's Markdown, split where the diagram goes."""
    image = f"]({DIAGRAM})"
    at = next(i for i, line in enumerate(lines) if line.endswith(image))
    page = environment(TEMPLATES).get_template("decision.html.j2").render(
        title=title, before=_html(lines[:at]), after=_html(lines[at + 1:]), diagram=Markup(svg), svg_file=DIAGRAM)
    out = folder / "decision.html"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page)
    tmp.replace(out)  # never a half-written page
    return out
