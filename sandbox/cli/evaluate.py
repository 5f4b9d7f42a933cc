"""`sandbox evaluate FILE`: plan the measurements a requirements file needs, run (or reuse) them, score each store,
write decision.md. The planning and scoring are report/evaluation/'s; this module runs scenarios and connects."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from sandbox.cli.app import BackendOpt, ConfigOpt, StoresOpt, app, experiment_registry, store_registry, workspace
from sandbox.config import Settings, ensure_env_file
from sandbox.errors import SandboxError, UsageError
from sandbox.report.console import console
from sandbox.report.evaluation import decision_html, reuse, strategy_evidence
from sandbox.report.evaluation.plan import Measurement, plan, within
from sandbox.report.evaluation.proposal import decide
from sandbox.report.evaluation.score import Measured, Verdict, answerability, score, unmeasurable
from sandbox.report.progress import RichProgress
from sandbox.report.results import write_results
from sandbox.scenario.runner import run_blocking, run_loop
from sandbox.scenario.spec import load as load_scenario
from sandbox.stack import open_stack, resolve_backend
from sandbox.stack.durability_profiles import parse_profile
from sandbox.stores import make_model_store
from sandbox.stores.contract import answerable
from sandbox.workload import requirements as requirements_file
from sandbox.workload.schema import Model

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)$")


def budget_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    m = _DURATION.match(text.strip())
    if not m or float(m[1]) <= 0:
        raise UsageError(f"--budget {text!r}: expected a positive time, e.g. 90s, 20m, 1h")
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600}[m[2]]


@app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Argument(help="a requirements file (requirements/NAME.toml, docs/evaluate.md)")],
    plan_only: Annotated[bool, typer.Option("--plan-only", help="print the plan and its estimated time; run "
                                            "nothing")] = False,
    budget: Annotated[str | None, typer.Option(help="cap the measuring time, e.g. 20m (what does not fit is "
                                               "'not measured')")] = None,
    size: Annotated[int, typer.Option(help="the most root instances a measurement loads (small by default: this "
                                      "machine measures, it does not size production)")] = 2000,
    seed: Annotated[int, typer.Option(help="the workload seed of every measurement (same seed: reusable)")] = 1,
    durability: Annotated[str, typer.Option(help="the durability profile the crash trials run at, as the servers "
                                            "would be configured: e.g. redis.appendonly=no (`sandbox run "
                                            "durability` profiles)")] = "default",
    stores: StoresOpt = None,
    backend: BackendOpt = "auto",
    config: ConfigOpt = None,
) -> None:
    """Measure what a requirements file asks for on each store and write a cited decision record."""
    ws = workspace()
    req, model = requirements_file.load(file, ws.project_dir)
    budget_s = budget_seconds(budget)
    if size < 1:
        raise UsageError(f"--size must be a positive whole number, got {size}")
    registry = store_registry(config)
    chosen = registry.parse(stores)
    parse_profile(durability, registry)  # a bad profile: one line before anything runs
    planned, left_out = within(plan(req, chosen, size, durability), budget_s)
    total = sum(m.estimate_s for m in planned)
    console.print(f"[bold]plan[/] for {file} (model {model.name}, stores {', '.join(chosen)}, seed {seed}): "
                  f"{len(planned)} runs, about {total:.0f} s before reuse", highlight=False)
    for m in planned:
        console.print(f"  ~{m.estimate_s:>4.0f} s  {m.purpose}\n          {m.command(model, seed)}", highlight=False,
                      soft_wrap=True)
    for m in left_out:
        console.print(f"  left out (over --budget {budget}): {m.purpose}", highlight=False)
    if plan_only:
        return
    backend_name = resolve_backend(backend, ws.state_dir)
    settings = registry.settings(backend_name, ws, config)
    servers = run_loop(_servers(settings, chosen, model))
    measured = [_measure(m, model, seed, backend_name, settings, servers, config) for m in planned]
    verdicts = _verdicts(req, model, chosen, settings, measured, left_out)
    folder = ws.results_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-evaluate-{file.stem}"
    folder.mkdir(parents=True, exist_ok=True)
    decision = decide(chosen, verdicts, model,
                      lambda pairs: strategy_evidence.find(ws.results_dir, model.name, pairs))
    path, page = decision_html.write_record(folder, file, req, model, chosen, verdicts, measured, servers, decision,
                                            durability)
    (folder / "evaluation.json").write_text(json.dumps(
        {"requirements": str(file), "model": model.name, "seed": seed, "stores": chosen, "durability": durability,
         "runs": [{"purpose": x.measurement.purpose, "run": x.run, "reused": x.reused} for x in measured],
         "decision": decision.to_json(),
         "verdicts": [v.__dict__ | {"evidence": [e.__dict__ for e in v.evidence]} for v in verdicts]},
        indent=2, default=str) + "\n")
    console.print(f"decision: {path}\n          {page}", soft_wrap=True, highlight=False)


async def _servers(settings: Settings, names: list[str], model: Model) -> dict[str, str]:
    """store -> the server as it reports itself ("" when it does not answer: its runs will say why)."""
    out: dict[str, str] = {}
    for name in names:
        store = make_model_store(settings, name, "sbx_evaluate_probe", model)  # connect() creates nothing
        try:
            info = await store.connect()
            out[name] = f"{info.product} {info.version}"
        except Exception:  # unreachable or refusing: the store's own runs say why, in their notes
            out[name] = ""
        finally:
            with contextlib.suppress(Exception):  # closing a store that never connected
                await store.close()
    return out


def _measure(m: Measurement, model: Model, seed: int, backend: str, settings: Settings, servers: dict[str, str],
             config: Path | None) -> Measured:
    ws = workspace()
    key = m.key(model, seed, backend, {}) | {"servers": {s: servers.get(s, "") for s in m.stores}}
    if (earlier := reuse.find(ws.results_dir, key)) is not None:
        console.print(f"reused {earlier.name} for {m.purpose} (same model, seed, servers and settings)",
                      soft_wrap=True,
                      highlight=False)
        return Measured(m, earlier.name, json.loads((earlier / "summary.json").read_text()), True)
    console.print(f"[bold]measuring[/] {m.purpose}", highlight=False)
    registry = store_registry(config)
    experiments = experiment_registry(config)
    steps = experiments.steps()
    pairs = [f"{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in m.params.items()]
    scenario = steps.override(load_scenario(ws.project_dir, m.scenario, set(steps)), pairs)
    params = replace(scenario.defaults, model=model.path, orders=m.orders, seed=seed, stores=m.stores,
                     concurrency=m.concurrency)
    stack = open_stack(backend, ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry)  # type: ignore[arg-type]
    try:
        with RichProgress() as progress:
            ctx = run_blocking(scenario, params, settings, ws, backend, stack, progress, steps)
    except SandboxError as exc:
        raise UsageError(f"measuring {m.purpose}: {exc}") from None
    write_results(ctx, experiments)
    reuse.mark(ctx.results_dir, key)
    return Measured(m, ctx.results_dir.name, json.loads((ctx.results_dir / "summary.json").read_text()), False)


def _verdicts(req: requirements_file.Requirements, model: Model, stores: list[str], settings: Settings,
              measured: list[Measured], left_out: list[Measurement]) -> list[Verdict]:
    out: list[Verdict] = []
    used = {name for name, _ in model.mixes[req.mix].weights} | set(req.latency)
    for store in stores:
        design = make_model_store(settings, store, "sbx_evaluate_design", model)  # builds the design only
        reasons: dict[str, Any] = {}
        for entity in model.entities.values():
            reasons.update(answerable(design, entity, {p: model.patterns[p] for p in used}))
        out.append(answerability(store, reasons, req))
        out += [score(x, store) for x in measured]
        out += [Verdict(store, m.purpose, "not measured", why="left out: over --budget", kind=m.kind,
                        patterns=[m.pattern] if m.pattern else []) for m in left_out]
    return out + unmeasurable(req, stores)
