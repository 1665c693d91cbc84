"""The strings of a JSON value, each with the path of the field that holds it."""

from __future__ import annotations

from typing import Any


def texts(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(field path, string) for every string in `value`, in document order: `messages[1].content`.
    Iterative, so data nested deeper than Python's recursion limit is still walked whole."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found.append((where or "value", item))
        elif isinstance(item, dict):
            children = [(f"{where}.{k}" if where else str(k), v) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(f"{where}[{i}]", v) for i, v in enumerate(item)]))
    return found


def scalar_text(value: Any) -> str | None:
    """A label's text: strings, whole numbers and booleans; None for anything else."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int):
        return str(value)
    return None
