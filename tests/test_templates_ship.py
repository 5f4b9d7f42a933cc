"""The pages' templates are package data: a wheel built from this tree holds every .j2 file under sandbox/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import PROJECT


def test_every_template_is_in_the_wheel(tmp_path: Path) -> None:
    tree = tmp_path / "tree"  # a copy: setuptools builds in the tree it is given
    shutil.copytree(PROJECT / "sandbox", tree / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, tree / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(tree)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".j2")}
    templates = {str(p.relative_to(PROJECT)) for p in (PROJECT / "sandbox").rglob("*.j2")}
    assert templates and templates <= shipped, sorted(templates - shipped)
