"""No store is named in the package's code outside sandbox/stores/: what one store knows lives in its folder
(its kind's options, roles, probes), and experiments take the stores they need as roles from their scenario
files. Checked on the AST: every string constant, f-string parts included."""

from __future__ import annotations

import ast

from tests.helpers import BUILT_IN, PROJECT

PACKAGE = PROJECT / "sandbox"
NAMES = frozenset(BUILT_IN.kinds)  # postgres, mongo, redis, elastic, influx, noop


def named_stores(source: str, file: str) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source, file))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES]


def test_no_store_name_outside_the_stores_folders() -> None:
    found = [f"{path.relative_to(PROJECT)}:{line}: {name!r}"
             for path in sorted(PACKAGE.rglob("*.py")) if path.relative_to(PACKAGE).parts[0] != "stores"
             for line, name in named_stores(path.read_text(), str(path))]
    assert not found, "store names outside sandbox/stores/ (declare it on the kind, or take it as a role):\n" + \
        "\n".join(found)


def test_the_check_sees_constants_and_f_string_parts_but_not_longer_words() -> None:
    source = 'a = "redis"\nb = f"{x}" "postgres"\nc = "redis killed"\nd = {"mongo": 1}\n'
    assert named_stores(source, "x.py") == [(1, "redis"), (2, "postgres"), (4, "mongo")]
