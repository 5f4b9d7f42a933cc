"""`sandbox model show | preview` as the terminal and PNG files show them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure
from rich import box
from rich.table import Table

from sandbox.report.console import console
from sandbox.report.plots import render
from sandbox.workload.dataset import plain
from sandbox.workload.preview import FieldSample, Preview
from sandbox.workload.schema import Children, Field, Model

BARS = 30


def print_models(rows: list[tuple[str, str, str]]) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="models (models/*.toml)")
    for col in ("model", "entities", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _source(f: Field) -> str:
    if f.gen is not None:
        params = ", ".join(f"{k}={v!r}" for k, v in f.gen.params.items() if k != "values")
        return f"{f.gen.name}({params})" if params else f.gen.name
    if f.ref is not None:
        return f"ref {f.ref} ({f.pick.name})"
    if f.copy:
        return "copy " + ".".join(f.copy)
    if f.derive is not None:
        return f"= {f.derive.text}"
    return "owner's key"


def print_model(model: Model) -> None:
    console.print(f"[bold]{model.name}[/]  {model.path}\n{model.description}\n")
    for e in model.entities.values():
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"{e.name} ({e.role}"
                      + (f", {e.count} instances" if e.count else "") + (f", stream on {e.stream.time}"
                                                                          if e.stream else "") + ")")
        for col in ("member", "type", "from", "flags"):
            table.add_column(col)
        for m in e.members:
            if isinstance(m, Children):
                table.add_row(m.name, f"children {m.entity}", f"count {m.count.name}({m.count.params})",
                              f"distinct {m.distinct}" if m.distinct else "")
                continue
            flags = [k for k in ("hidden", "unique", "nullable", "version") if getattr(m, k)]
            flags += ["key"] if m.name == e.key else []
            table.add_row(m.name, str(m.type), _source(m), ", ".join(flags))
        console.print(table)
    patterns = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="access patterns")
    for col in ("pattern", "kind", "entity", "details"):
        patterns.add_column(col)
    for p in model.patterns.values():
        details = {k: getattr(p, k) for k in ("where", "range", "order_by", "group_by", "sums", "field", "within",
                                                "read_first")
                   if getattr(p, k)}
        patterns.add_row(p.name, p.kind, p.entity, ", ".join(f"{k}={v}" for k, v in details.items()))
    console.print(patterns)
    if model.mixes:
        console.print("mixes: " + "; ".join(f"{m.name} (" + ", ".join(f"{p} {s:.0%}" for p, s in m.weights) + ")"
                                            for m in model.mixes.values()))


def print_design(store: str, described: str, answers: Mapping[str, str | None]) -> None:
    console.print(f"\n[bold]{store}[/]")
    console.print(described, highlight=False, markup=False)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("pattern")
    table.add_column(f"{store} answers")
    for name, reason in answers.items():
        table.add_row(name, "natively" if reason is None else f"[yellow]not answerable in this model[/]: {reason}")
    console.print(table)


def _label(s: FieldSample, x: float) -> str:
    if s.times:
        from datetime import UTC, datetime
        return datetime.fromtimestamp(x, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{x:.6g}"


def _histogram(s: FieldSample) -> str:
    lo, hi = min(s.numbers), max(s.numbers)
    if lo == hi:
        return f"  all {lo:g}"
    bins = [0] * 12
    for x in s.numbers:
        bins[min(11, int((x - lo) / (hi - lo) * 12))] += 1
    top = max(bins)
    return "\n".join(f"  {_label(s, lo + (hi - lo) * i / 12):>20} {'█' * round(b / top * BARS):<{BARS}} {b}"
                     for i, b in enumerate(bins))


def _value(v: object) -> str:
    if isinstance(v, list):
        return f"[{len(v)} owned]"
    text = plain(v)
    return str(text) if len(str(text)) <= 48 else str(text)[:45] + "..."


def print_preview(p: Preview) -> None:
    for entity, instances in p.samples.items():
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"{entity}: {len(instances)} of "
                      f"{p.sizes[entity]:,} generated", title_justify="left")
        table.add_column("field")
        for i in range(len(instances)):
            table.add_column(f"#{i}", overflow="fold")
        for name in instances[0] if instances else ():
            table.add_row(name, *(_value(inst.get(name)) for inst in instances))
        console.print(table)
    for s in p.fields:
        head = f"[bold]{s.entity}.{s.field}[/]"
        distinct = len(s.counts)
        if not s.numeric and distinct == p.sizes[s.entity] and distinct > 1:
            console.print(f"{head}  unique: {distinct:,} distinct values in {p.sizes[s.entity]:,}")
        elif s.numeric:
            console.print(f"{head}  min {_label(s, min(s.numbers))}  max {_label(s, max(s.numbers))}  "
                          f"mean {_label(s, sum(s.numbers) / len(s.numbers))}")
            console.print(_histogram(s), highlight=False, markup=False)
        elif len(s.counts) <= 12:
            total = sum(s.counts.values())
            console.print(head + "  " + ", ".join(f"{v} {c / total:.1%}" for v, c in s.counts.most_common()))
        else:
            console.print(f"{head}  {len(s.counts):,} distinct values, e.g. "
                          + ", ".join(list(s.counts)[:3]), highlight=False)


def write_pngs(p: Preview, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in p.fields:
        fig = Figure(figsize=(5, 2.6))
        ax = fig.add_subplot()
        if s.numeric:
            ax.hist(s.numbers, bins=30, color="#1f77b4")
        elif len(s.counts) <= 30:
            labels, values = zip(*s.counts.most_common(), strict=True)
            ax.bar(range(len(values)), values, color="#1f77b4")
            ax.set_xticks(range(len(values)), labels, rotation=45, ha="right", fontsize=7)
        else:
            continue
        ax.set_title(f"{p.model.name}: {s.entity}.{s.field}", fontsize=9)
        fig.tight_layout()
        path = out / f"{p.model.name}-{s.entity}-{s.field.replace(' ', '_').strip('()')}.png"
        render(fig, path)
        written.append(path)
    return written
