"""JSON Lines read one record at a time, each with its line number: a data set of any size is
read in bounded memory, and every problem names the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airlock.eval.errors import DataError

# One record longer than this is refused rather than read: it bounds the memory one line takes.
MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Record:
    path: Path
    line: int
    data: dict[str, Any]

    def error(self, message: str) -> DataError:
        return DataError(self.path, message, self.line)


def records(path: Path) -> Iterator[Record]:
    """Each non-blank line of `path` as a JSON object; DataError at the first bad line."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataError(path, f"cannot read it: {exc.strerror or exc}") from None
    with handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise DataError(path, f"a line longer than {MAX_LINE_BYTES >> 20} MiB", number)
            if not raw.strip():
                continue
            yield Record(path, number, _parse(path, raw, number))


def _parse(path: Path, raw: bytes, number: int) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text (byte {exc.start + 1})", number) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not JSON: {exc.msg} (column {exc.colno})", number) from None
    if not isinstance(value, dict):
        raise DataError(path, f"expected a JSON object, got {_kind(value)}", number)
    return value


def _kind(value: object) -> str:
    names = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def text_field(record: Record, key: str, *, required: bool = True) -> str | None:
    """A non-blank string field (None when absent and not required)."""
    value = record.data.get(key)
    if value is None:
        if required:
            raise record.error(f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise record.error(f"{key!r} must be a string, got {_kind(value)}")
    if not value.strip():
        raise record.error(f"{key!r} is empty")
    return value


def text_list(record: Record, key: str, *, required: bool = True) -> tuple[str, ...]:
    """A list of non-blank strings (a lone string counts as a list of one)."""
    value = record.data.get(key)
    if value is None:
        if required:
            raise record.error(f"missing {key!r}")
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise record.error(f"{key!r} must be a non-empty list of strings")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise record.error(f"{key}[{i}] must be a string, got {_kind(item)}")
        if not item.strip():
            raise record.error(f"{key}[{i}] is empty")
    return tuple(items)


def check_keys(record: Record, allowed: frozenset[str], task: str) -> None:
    """Unknown fields are refused: a misspelt one ("refrence") would silently drop a metric."""
    from airlock.suggest import did_you_mean

    for key in record.data:
        if key not in allowed:
            hint = did_you_mean(key, sorted(allowed))
            fields = ", ".join(sorted(allowed))
            raise record.error(f"unknown field {key!r} for a {task} item{hint} (fields: {fields})")
