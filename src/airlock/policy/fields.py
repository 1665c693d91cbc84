"""Convert one YAML node of a policy to a typed value; a ValueError says what is wrong with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from airlock.findings import Severity
from airlock.formats.interface import Kind

T = TypeVar("T")


class ItemError(ValueError):
    """A list item that breaks the schema; the error points at the item, not the list."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ValueError("must be a single value")
    return yaml.safe_load(yaml.serialize(node))


def boolean(node: yaml.Node) -> bool:
    value = scalar(node)
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {node.value!r}")
    return value


def whole(node: yaml.Node) -> int:
    value = scalar(node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {node.value!r}")
    return value


def positive(node: yaml.Node) -> int:
    value = whole(node)
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def number(node: yaml.Node) -> float:
    value = scalar(node)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"must be a positive number, not {node.value!r}")
    return float(value)


def text(node: yaml.Node) -> str:
    value = scalar(node)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be text, not {node.value!r}")
    return value.strip()


def severity(node: yaml.Node) -> Severity:
    return Severity.parse(text(node))


def accelerator(node: yaml.Node) -> str:
    from airlock.checks.resources.accelerators import find

    try:
        return find(text(node)).id
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None


def kind(node: yaml.Node) -> str:
    value = text(node).lower()
    known = [k.value for k in Kind if k not in (Kind.TEXT, Kind.UNKNOWN)]
    if value not in known:
        raise ValueError(f"names an unknown format {value!r} (choose from {', '.join(known)})")
    return value


def dotted(node: yaml.Node) -> str:
    value = text(node)
    if "." not in value or " " in value:
        raise ValueError(f"must be a dotted name such as `collections.OrderedDict`: {value!r}")
    return value


def optional(convert: Callable[[yaml.Node], T]) -> Callable[[yaml.Node], T | None]:
    def read(node: yaml.Node) -> T | None:
        return None if node.tag == "tag:yaml.org,2002:null" else convert(node)

    return read


def items(convert: Callable[[yaml.Node], T]) -> Callable[[yaml.Node], tuple[T, ...]]:
    def read(node: yaml.Node) -> tuple[T, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise ValueError("must be a list")
        items = []
        for item in node.value:
            try:
                items.append(convert(item))
            except ValueError as exc:
                raise ItemError(item.start_mark.line + 1, f"item {exc}") from None
        return tuple(items)

    return read
