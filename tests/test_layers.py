"""The layering rule, checked on the source: workload -> stores -> measure / stack -> strategies -> scenario
-> report -> experiments -> cli, with config and errors at the bottom. A module may import its own layer or any layer
below it, never one above (nor its sibling: measure and stack stand side by side). Every import counts:
module level, inside functions, under TYPE_CHECKING. Rich draws the terminal: only report/, the experiments and the
CLI may import it; Jinja2 renders pages: only report/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sandbox"

# Lower number = lower layer. Anything under sandbox/stores/ (adapters, store folders) is the stores layer.
LAYERS: dict[str, int] = {
    "errors": 0,
    "secure": 0,
    "config": 1,
    "workload": 2,
    "stores": 3,
    "measure": 4, "stack": 4,
    "strategies": 5,
    "scenario": 6,
    "report": 7,
    "experiments": 8,  # each folder: its steps (scenario and below) and its tables and section (report)
    "cli": 9,
}
RULE = ("workload -> stores -> measure / stack -> strategies -> scenario -> report -> experiments -> cli "
        "(config, errors and secure at the bottom)")
# Third-party packages only some layers may use.
CONFINED = {"rich": {"report", "experiments", "cli"}, "typer": {"cli"}, "jinja2": {"report"}}


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: imports {self.imported}: {self.why}"


def layer_of(module: str) -> str:
    """sandbox.scenario.runner -> scenario; sandbox -> config (the package root holds only its version)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "config"
    return "cli" if parts[1] == "__main__" else parts[1]


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module) for every import anywhere in the tree, relative imports resolved."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            # `from sandbox import stores` imports the subpackage named in the alias.
            if target == "sandbox":
                out += [(node.lineno, f"sandbox.{alias.name}") for alias in node.names]
    return sorted(out)


def check_source(source: str, module: str, file: str, is_package: bool = False) -> list[Violation]:
    own = layer_of(module)
    found = []
    for line, target in imported_modules(ast.parse(source, file), module, is_package):
        top = target.split(".")[0]
        if top in CONFINED and own not in CONFINED[top]:
            found.append(Violation(file, line, target, f"only {' and '.join(sorted(CONFINED[top]))} may import "
                                                       f"{top} (nothing below report/ draws the terminal)"))
        if top != "sandbox" or target == "sandbox":
            continue
        theirs = layer_of(target)
        if theirs not in LAYERS:
            found.append(Violation(file, line, target, f"{theirs!r} is in no layer: add it to LAYERS in "
                                                       "tests/test_layers.py"))
        elif theirs != own and LAYERS[theirs] >= LAYERS[own]:
            where = "beside" if LAYERS[theirs] == LAYERS[own] else "above"
            found.append(Violation(file, line, target, f"{own} may not import {theirs}, which is {where} it: {RULE}"))
    return found


def modules(root: Path) -> Iterator[tuple[Path, Path, str, bool]]:
    """Each .py under root: its path, that path from the project, its module name, whether it is a package."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        parts = list(rel.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        yield path, rel, ".".join(parts[:-1] if is_package else parts), is_package


def test_no_import_runs_up_the_layers() -> None:
    violations: list[Violation] = []
    for path, rel, module, is_package in modules(PACKAGE):
        if layer_of(module) not in LAYERS:
            violations.append(Violation(str(rel), 1, module, "this module is in no layer: add it to LAYERS"))
            continue
        violations += check_source(path.read_text(), module, str(rel), is_package)
    assert not violations, "imports against the layering:\n" + "\n".join(map(str, violations))


def test_the_check_catches_upward_lazy_and_type_checking_imports() -> None:
    source = ("from typing import TYPE_CHECKING\n"
              "from sandbox.workload.model import Order\n"
              "from ..errors import UsageError\n"
              "if TYPE_CHECKING:\n    from sandbox.scenario.context import RunContext\n"
              "def f():\n    from sandbox.strategies import base\n    import rich.progress\n"
              "from . import timing\n"
              "from sandbox.stack import faults\n")
    found = check_source(source, "sandbox.measure.driver", "sandbox/measure/driver.py")
    assert [(v.line, v.imported) for v in found] == [
        (5, "sandbox.scenario.context"), (7, "sandbox.strategies"), (8, "rich.progress"), (10, "sandbox.stack")]
    assert "measure may not import scenario, which is above it" in str(found[0])
    assert "beside" in str(found[3])
    assert not check_source(source.splitlines()[1] + "\n", "sandbox.report.tables", "sandbox/report/tables.py")
    # A new store folder is the stores layer, whatever its depth.
    assert not check_source("from sandbox.workload.schema import Model\n", "sandbox.stores.clickhouse.store", "x.py")
    assert check_source("from sandbox.measure.timing import TimedStore\n", "sandbox.stores.clickhouse", "x.py")


# The backends' classes stay inside sandbox/stack: stacks are built by its factory (`open_stack`) and used
# through the Stack protocol (pid, owns, kill, ...), so no step asks "is this the native backend?".
BACKEND_MODULES = ("sandbox.stack.native", "sandbox.stack.docker")
BACKEND_CLASSES = ("NativeStack", "DockerStack")


def backend_imports(source: str, module: str, file: str, is_package: bool = False) -> list[Violation]:
    tree = ast.parse(source, file)
    found = [Violation(file, line, target, "a backend module: use the Stack protocol (sandbox/stack/base.py)")
             for line, target in imported_modules(tree, module, is_package)
             if target.startswith(BACKEND_MODULES)]
    found += [Violation(file, node.lineno, alias.name, "a backend class: build stacks with sandbox.stack.open_stack")
              for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names if alias.name in BACKEND_CLASSES]
    return found


def test_nothing_outside_the_stack_layer_imports_a_backend_class() -> None:
    violations: list[Violation] = []
    for root in (PACKAGE, PACKAGE.parent / "bench"):
        for path, rel, module, is_package in modules(root):
            if rel.parts[:2] == ("sandbox", "stack"):
                continue
            violations += backend_imports(path.read_text(), module, str(rel), is_package)
    assert not violations, "backend classes used above the stack layer:\n" + "\n".join(map(str, violations))


def test_the_backend_check_catches_modules_and_classes() -> None:
    source = ("from sandbox.stack.native import NativeStack\n"
              "def f():\n    import sandbox.stack.docker\n"
              "from sandbox.stack import DockerStack, open_stack\n"
              "from sandbox.stack.base import Stack\n")
    found = backend_imports(source, "sandbox.scenario.runner", "sandbox/scenario/runner.py")
    assert sorted((v.line, v.imported) for v in found) == [
        (1, "NativeStack"), (1, "sandbox.stack.native"), (3, "sandbox.stack.docker"), (4, "DockerStack")]
