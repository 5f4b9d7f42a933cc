"""A store's own options, declared by its kind and set as `-o <store>.<option>=<value>` (command line,
scenario `[defaults] options`, the config file's `options`): name, type or choices, default, help."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import UsageError

TRUE, FALSE = ("true", "on", "yes", "1"), ("false", "off", "no", "0")


@dataclass(frozen=True)
class StoreOption:
    name: str  # set as <store>.<name>
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()  # a text option with these values only; () = any value of `type`
    type: type = str  # str, int, float or bool
    minimum: float | None = None  # numbers: the smallest value allowed
    field: str = ""  # the adapter Options field it sets (default: the option's name)

    @property
    def target(self) -> str:
        return self.field or self.name

    def expected(self) -> str:
        if self.choices:
            return " | ".join(self.choices)
        name = {int: "a whole number", float: "a number", bool: "true or false"}.get(self.type, "text")
        return name + (f" >= {self.minimum:g}" if self.minimum is not None else "")

    def parse(self, value: Any) -> Any:
        """The value as its type; ValueError saying what was expected."""
        if self.type is bool:
            text = str(value).lower()
            if isinstance(value, bool) or text in TRUE + FALSE:
                return value if isinstance(value, bool) else text in TRUE
            raise ValueError(self.expected())
        if self.type in (int, float):
            if isinstance(value, bool):
                raise ValueError(self.expected())
            try:
                number = self.type(value)
            except (TypeError, ValueError):
                raise ValueError(self.expected()) from None
            if self.minimum is not None and number < self.minimum:
                raise ValueError(self.expected())
            return number
        text = str(value)
        if self.choices and text not in self.choices:
            raise ValueError(self.expected())
        return text


def flatten(given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """{"redis.client": v} as given, and TOML's dotted keys ({"redis": {"client": v}}) to the same form."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    for key in out:
        if "." not in key:
            raise UsageError(f"{where}: option {key!r}: expected <store>.<option>, e.g. redis.client")
    return out


def parse_pair(pair: str) -> tuple[str, str]:
    """`redis.client=valkey-glide` -> ("redis.client", "valkey-glide")."""
    key, sep, value = pair.partition("=")
    if not sep or "." not in key.strip():
        raise UsageError(f"-o {pair!r}: expected <store>.<option>=<value>, e.g. -o redis.client=valkey-glide "
                         "(`sandbox options` lists them)")
    return key.strip(), value.strip()
