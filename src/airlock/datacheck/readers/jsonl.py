"""JSON Lines: one JSON object per line (blank lines skipped), in an eval format's shape when
the first record has one (data/datacheck/shapes.toml)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airlock.datacheck import build
from airlock.datacheck.errors import DataError
from airlock.datacheck.readers.beir_ids import Ids
from airlock.datacheck.readers.interface import MAX_DOCUMENT_BYTES, MIB, Source
from airlock.datacheck.records import RECORDS, Problem, Record
from airlock.datacheck.shapes import Shape, detect


class JsonlSource(Source):
    def __init__(
        self,
        path: Path,
        display: str,
        shape: Shape | None = None,
        group: str = RECORDS,
        ids: Ids | None = None,
    ) -> None:
        """`shape` None: decided by the first record. `ids`: where a BEIR file's `_id`s go."""
        super().__init__(path, display, f"JSONL ({shape.title})" if shape else "JSONL")
        self._shape = shape
        self._fixed = shape is not None
        self._group = group
        self._ids = ids

    def read(self) -> Iterator[Record | Problem]:
        base = self.path.parent
        first = True
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(
                iter(lambda: handle.readline(MAX_DOCUMENT_BYTES + 1), b""), 1
            ):
                self.done += len(raw)
                if len(raw) > MAX_DOCUMENT_BYTES:
                    raise DataError(
                        f"{self.display}:{number}",
                        f"a line longer than {MAX_DOCUMENT_BYTES // MIB} MiB; "
                        "is this really JSON Lines?",
                    )
                if not raw.strip():
                    continue
                line = raw.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
                obj = parse_json(line, f"{self.display}:{number}")
                where = f"line {number}"
                if not isinstance(obj, dict):
                    yield Problem(
                        "AIR911",
                        self.display,
                        where,
                        f"{_kind(obj)} where a record (a JSON object) was expected",
                    )
                    continue
                if first and not self._fixed:
                    self._shape = detect(obj)
                    if self._shape is not None:
                        self.format = f"JSONL ({self._shape.title})"
                first = False
                yield from self._record(obj, number, base)
        if self._ids is not None:
            yield from self._ids.close(self.display)

    def _record(self, obj: dict[str, Any], number: int, base: Path) -> Iterator[Record | Problem]:
        where = f"line {number}"
        if self._shape is None:
            yield build.generic(obj, self.display, number, "line")
            return
        for problem in self._shape.problems(obj, base):
            yield Problem("AIR911", self.display, where, problem)
        if self._ids is not None and "_id" in obj:
            self._ids.add(str(obj["_id"]), number)
        yield build.shaped(obj, self._shape, self.display, number, "line", self._group)


def parse_json(raw: bytes, where: str) -> Any:
    """One JSON document, or a DataError naming `where` and what is wrong, in one line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(where, f"not UTF-8 text (byte {exc.start + 1} of the line)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno}, column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        raise DataError(where, f"not JSON: {exc.msg} ({at})") from None
    except RecursionError:
        raise DataError(where, "JSON nested too deeply to read") from None


def _kind(value: Any) -> str:
    names = {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean"}
    if value is None:
        return "JSON null"
    return names.get(type(value), "a JSON number")
