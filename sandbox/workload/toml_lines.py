"""Which line of a TOML file defines a key (tomllib gives values without positions, messages need lines), and
the one-line error of a model or requirements file that names it.

Enough of TOML for model and requirements files: table headers ([a.b], [[a.b]]), bare, quoted and
dotted keys, one key per line; a key inside an inline table is reported at its table's line.
"""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.errors import UsageError

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _keys(text: str) -> tuple[list[str], int]:
    """Dotted key at the start of text -> (parts, characters consumed)."""
    parts: list[str] = []
    i = 0
    while i < len(text):
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end < 0:
                break
            parts.append(text[i + 1:end])
            i = end + 1
        else:
            m = _BARE.match(text, i)
            if not m:
                break
            parts.append(m.group())
            i = m.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == ".":
            i += 1
            continue
        break
    return parts, i


class LineIndex:
    """Key paths of a TOML text and the lines (1-based) that define them."""

    def __init__(self, text: str):
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                parts, _ = _keys(line[2:])
                base = tuple(parts)
                index = counts.get(base, 0)
                counts[base] = index + 1
                table = (*base, str(index))
                self.lines.setdefault(base, number)
                self.lines[table] = number
                continue
            if line.startswith("["):
                parts, _ = _keys(line[1:])
                table = tuple(parts)
                self.lines.setdefault(table, number)
                continue
            parts, used = _keys(line)
            if parts and line[used:used + 1] == "=":
                path = (*table, *parts)
                for k in range(len(table) + 1, len(path) + 1):
                    self.lines.setdefault(path[:k], number)

    def line(self, *path: str) -> int:
        """The line defining path, or its nearest defined ancestor's; 0 when nothing matches."""
        for k in range(len(path), 0, -1):
            if (hit := self.lines.get(tuple(path[:k]))) is not None:
                return hit
        return 0


class ModelError(UsageError):
    """A model file mistake: `file:line: what is wrong; what to change`."""


class Where:
    """Raises ModelError at the line of a key path of one file."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.index = LineIndex(text)

    def line(self, *keys: str) -> int:
        return self.index.line(*keys)

    def fail(self, keys: tuple[str, ...], message: str) -> ModelError:
        return ModelError(f"{self.path}:{self.index.line(*keys)}: {message}")
