"""`sandbox model list | show | preview`: see a model and each store's design of it before running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sandbox.cli.app import ConfigOpt, app, store_registry, workspace
from sandbox.errors import UsageError
from sandbox.report.console import console
from sandbox.report.model_view import print_design, print_model, print_models, print_preview, write_pngs
from sandbox.stores.contract import answerable
from sandbox.workload import model_file
from sandbox.workload.preview import preview
from sandbox.workload.schema import Model

models = typer.Typer(no_args_is_help=True, help="Domain models (models/*.toml): list, show, preview.")
app.add_typer(models, name="model")
ModelArg = Annotated[str, typer.Argument(help="a model name (models/NAME.toml) or a path to a model file")]


def load_model(name_or_path: str, config: Path | None = None) -> Model:
    """The model a name or path stands for, checked (a bad file: one line, exit 2)."""
    registry = store_registry(config)
    return model_file.load(model_file.find(workspace().project_dir, name_or_path), registry.kinds)


@models.command("list")
def list_models() -> None:
    """The models in models/, one line each."""
    rows = []
    for path in model_file.available(workspace().project_dir):
        try:
            m = model_file.load(path)
            rows.append((m.name, ", ".join(m.entities), " ".join(m.description.split())))
        except UsageError as exc:
            rows.append((path.stem, "-", f"not valid: {exc}"))
    print_models(rows)


@models.command("show")
def show(name: ModelArg,
         store: Annotated[str | None, typer.Option("--store", help="also each store's derived design, e.g. "
                                                   "postgres, mongo:referenced (comma-separated)")] = None,
         config: ConfigOpt = None) -> None:
    """Entities, fields, patterns and mixes; with --store, what each store derives (DDL, documents, keys)."""
    from sandbox.stores import make_model_store

    model = load_model(name, config)
    print_model(model)
    if store is None:
        return
    registry = store_registry(config)
    settings = registry.settings("native", workspace(), config)
    for one in (s.strip() for s in store.split(",") if s.strip()):
        adapter = make_model_store(settings, one, "sbx_preview", model)  # builds the design; connects nothing
        answers = {}
        for e in model.entities.values():
            answers.update(answerable(adapter, e, model.patterns))
        print_design(one, adapter.describe(), answers)


@models.command("preview")
def show_preview(name: ModelArg,
                 seed: Annotated[int, typer.Option(help="the seed of the sample")] = 1,
                 roots: Annotated[int, typer.Option(help="root instances in the sample")] = 2000,
                 png: Annotated[Path | None, typer.Option(help="also write one histogram PNG per field here")] = None,
                 config: ConfigOpt = None) -> None:
    """Sample instances and each generated field's distribution (terminal; --png for files). No server."""
    if roots < 1:
        raise UsageError(f"--roots must be a positive whole number, got {roots}")
    result = preview(load_model(name, config), seed, roots)
    print_preview(result)
    if png is not None:
        written = write_pngs(result, png)
        console.print(f"{len(written)} PNG files in {png}")
