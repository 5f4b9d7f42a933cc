"""The core experiment's table, from summary.json: every store's read-back (report.html and the terminal)."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData, count


def consistency(summary: dict[str, Any]) -> TableData | None:
    stores = {n: s for n, s in summary.get("stores", {}).items() if s.get("consistency")}
    if not stores:
        return None
    model = summary.get("model") or {}
    root = model.get("root", "root")
    with_checks = any(s["consistency"].get("check_violations") for s in stores.values())  # the root has checks
    t = TableData("consistency", f"consistency (every {root} read back and compared with what was sent)",
                  ["store", "held", "missing", "extra", "differ", "fields", "money", "aggregates",
                   *(["checks"] if with_checks else []), "verdict"])
    for name, s in stores.items():
        c = s["consistency"]
        verdict = Cell("consistent") if c.get("consistent") else \
            Cell("INCONSISTENT" + (f": {c['error']}" if c.get("error") else ""), bad=True)
        t.add(name, c.get("held"), count(c.get("missing")), count(c.get("extra")),
              count((c.get("differing") or 0) + (c.get("duplicates") or 0)),
              fields(c, [*(model.get("fields") or []), *(model.get("children") or [])]),
              str(s.get("money") or "-").split(" (")[0], aggregates(c), *([checks(c)] if with_checks else []),
              verdict)
    return t


def fields(c: dict[str, Any], stored: list[str]) -> str:
    compared = c.get("fields_compared") or []
    if not compared:
        return "-"
    not_kept = [f for f in stored if f not in compared]
    return f"all {len(compared)}" if not not_kept else f"{len(compared)}; not kept: {', '.join(not_kept)}"


def aggregates(c: dict[str, Any]) -> Cell:
    """The checked aggregates: exact, drift (float sums rounding back exact), or what differs; not answerable."""
    verdicts = [v for vs in (c.get("aggregates") or {}).values() for v in vs]
    wrong = [v for v in verdicts if v not in ("ok", "drift")]
    refused = c.get("not_answerable") or {}
    if wrong:
        return Cell("; ".join(wrong[:2]), bad=True)
    if not verdicts:
        return Cell("not answerable: " + "; ".join(refused.values()) if refused else "-")
    return Cell("ok, float drift" if "drift" in verdicts else "ok (exact)")


def checks(c: dict[str, Any]) -> Cell:
    broken = {k: v for k, v in (c.get("check_violations") or {}).items() if v}
    if broken:
        return Cell(", ".join(f"{k}: {v} violate" for k, v in broken.items()), bad=True)
    return Cell("all hold" if c.get("check_violations") else "-")


def examples(name: str, c: dict[str, Any]) -> list[str]:
    """A few lines naming what differs, for the terminal."""
    out = [f"{name}: {c[k]} {k}, e.g. {', '.join(c.get(k + '_examples')[:3])}"  # type: ignore[index]
           for k in ("missing", "extra") if c.get(k)]
    out += [f"{name}: {d['key']} {d['field']}: sent {d['expected']}, store has {d['got']}"
            for d in (c.get("differing_examples") or [])[:3]]
    return out
