"""The record shapes of data/datacheck/shapes.toml: which one a JSONL file has, and what is wrong
with a record that breaks it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from airlock.datacheck.knowledge import load


@dataclass(frozen=True)
class Shape:
    name: str
    title: str
    detect: tuple[frozenset[str], ...]
    fields: dict[str, str]  # field -> kind
    required: tuple[tuple[str, ...], ...]
    together: tuple[tuple[str, ...], ...]
    key: tuple[str, ...]
    label: str
    leak: bool

    def matches(self, record: dict[str, Any]) -> bool:
        return any(keys <= record.keys() for keys in self.detect)

    def problems(self, record: dict[str, Any], base: Path) -> list[str]:
        """What is wrong with `record` for this shape, one phrase each ([] when nothing);
        `base` is the folder that relative paths in it are relative to."""
        found = []
        for choice in self.required:
            if not any(name in record for name in choice):
                found.append(f"no {_either(choice)} field ({self.title} needs one)")
        for group in self.together:
            present = [name for name in group if name in record]
            if present and len(present) < len(group):
                missing = [name for name in group if name not in record]
                found.append(f"`{present[0]}` without {_either(tuple(missing))}")
        for name, kind in self.fields.items():
            if name in record:
                wrong = _KINDS[kind](record[name], base)
                if wrong:
                    found.append(f"`{name}` {wrong}")
        return found


def _either(names: tuple[str, ...]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _text(value: Any, base: Path) -> str | None:
    return None if isinstance(value, str) else f"should be a string, not {_type(value)}"


def _texts(value: Any, base: Path) -> str | None:
    if not isinstance(value, list):
        return f"should be a list of strings, not {_type(value)}"
    bad = next((i for i, item in enumerate(value) if not isinstance(item, str)), None)
    return None if bad is None else f"[{bad}] should be a string, not {_type(value[bad])}"


def _some_texts(value: Any, base: Path) -> str | None:
    if isinstance(value, list) and not value:
        return "should list at least one string"
    return _texts(value, base)


def _messages(value: Any, base: Path) -> str | None:
    if not isinstance(value, list) or not value:
        return "should be a non-empty list of {role, content} objects"
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            return f"[{i}] should be an object with `role` and `content`, not {_type(message)}"
        for part in ("role", "content"):
            if not isinstance(message.get(part), str):
                return f"[{i}] has no string `{part}`"
    return None


def _label(value: Any, base: Path) -> str | None:
    if isinstance(value, str | int):  # bool is an int
        return None
    return f"should be a string, a whole number or a boolean, not {_type(value)}"


def _number(value: Any, base: Path) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok else f"should be a finite number, not {_type(value)}"


def _object(value: Any, base: Path) -> str | None:
    return None if isinstance(value, dict) else f"should be an object, not {_type(value)}"


def _path(value: Any, base: Path) -> str | None:
    if not isinstance(value, str) or not value:
        return f"should be a file path, not {_type(value)}"
    return None if (base / value).is_file() else f"names {value!r}, which is not a file"


def _id(value: Any, base: Path) -> str | None:
    ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    return None if ok else f"should be a string or a whole number, not {_type(value)}"


def _type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value}"
    return names.get(type(value), type(value).__name__)


_KINDS: dict[str, Callable[[Any, Path], str | None]] = {
    "text": _text,
    "texts": _texts,
    "some-texts": _some_texts,
    "messages": _messages,
    "label": _label,
    "number": _number,
    "object": _object,
    "path": _path,
    "id": _id,
}


@cache
def shapes() -> dict[str, Shape]:
    return {
        name: Shape(
            name=name,
            title=spec["title"],
            detect=tuple(frozenset(keys) for keys in spec["detect"]),
            fields=dict(spec["fields"]),
            required=tuple(tuple(choice) for choice in spec["required"]),
            together=tuple(tuple(group) for group in spec["together"]),
            key=tuple(spec["key"]),
            label=spec["label"],
            leak=spec["leak"],
        )
        for name, spec in load("shapes.toml")["shapes"].items()
    }


def detect(record: dict[str, Any]) -> Shape | None:
    """The eval format a JSONL file's first record has; None: a generic file."""
    every = shapes()
    return next((every[n] for n in load("shapes.toml")["order"] if every[n].matches(record)), None)


@cache
def generic_fields() -> tuple[frozenset[str], frozenset[str]]:
    """(label field names, id field names) of generic files."""
    spec = load("shapes.toml")["generic"]
    return frozenset(spec["label_fields"]), frozenset(spec["id_fields"])
