"""decision.html: the same record as decision.md (its Markdown rendered by markdown-it), the architecture diagram
inlined as SVG; one file that opens offline (no script, no stylesheet or font fetched). Its links are
decision.md's: `../RUN/summary.json#dotted.path`, beside this run's folder."""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

from sandbox.report.evaluation import decision_md, diagram
from sandbox.report.evaluation.decision_md import DIAGRAM
from sandbox.report.evaluation.proposal import Decision
from sandbox.report.evaluation.score import Measured, Verdict
from sandbox.report.page import environment
from sandbox.workload.requirements import Requirements
from sandbox.workload.schema import Model

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


def write_record(folder: Path, file: Path, req: Requirements, model: Model, stores: list[str],
                 verdicts: list[Verdict], measured: list[Measured], servers: dict[str, str], decision: Decision,
                 durability: str = "default") -> tuple[Path, Path]:
    """decision.md, decision.svg and decision.html of one evaluation: the same record three ways."""
    lines = decision_md.lines(file, req, model, stores, verdicts, measured, servers, decision, durability)
    svg = diagram.svg(decision, stores, req, req.mix, servers)
    (folder / DIAGRAM).write_text(svg + "\n")
    md = decision_md.write(folder, lines)
    return md, write(folder, lines, svg, f"Decision record: storage for the {model.name} model")
