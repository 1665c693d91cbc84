"""Whole-file records: a plain text file is one record (a document, as for grounding); a
`.json` file is one record, or one per item when it is an array of objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from airlock.datacheck import build
from airlock.datacheck.errors import DataError
from airlock.datacheck.readers.interface import MAX_DOCUMENT_BYTES, MIB, Source
from airlock.datacheck.readers.jsonl import parse_json
from airlock.datacheck.records import DOCUMENT, WHOLE_FILE, Problem, Record

# Bytes that never occur in text: a file starting with one is binary, whatever its name.
_BINARY_SAMPLE = 8192


class TextSource(Source):
    def __init__(self, path: Path, display: str) -> None:
        super().__init__(path, display, "text")

    def read(self) -> Iterator[Record | Problem]:
        if self.size > MAX_DOCUMENT_BYTES:
            yield _not_read(
                self, f"larger than {MAX_DOCUMENT_BYTES // MIB} MiB, not read as one record"
            )
            return
        data = self.path.read_bytes()
        self.done = len(data)
        try:
            if b"\0" in data[:_BINARY_SAMPLE]:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            yield _not_read(self, "not UTF-8 text, JSONL, CSV or Parquet: not checked")
            return
        text = text.removeprefix("\ufeff")
        yield Record(self.display, 0, WHOLE_FILE, (("text", text),), text, (("file", text),))


class JsonDocumentSource(Source):
    def __init__(self, path: Path, display: str) -> None:
        super().__init__(path, display, "JSON")

    def read(self) -> Iterator[Record | Problem]:
        if self.size > MAX_DOCUMENT_BYTES:
            raise DataError(self.display, f"a JSON document over {MAX_DOCUMENT_BYTES // MIB} MiB; "
                            "write it as JSON Lines (one record per line)")  # fmt: skip
        data = self.path.read_bytes()
        self.done = len(data)
        document = parse_json(data.removeprefix(b"\xef\xbb\xbf"), self.display)
        if isinstance(document, dict):
            yield build.generic(document, self.display, 0, DOCUMENT)
            return
        if not isinstance(document, list):
            yield Problem(
                "AIR911",
                self.display,
                "",
                "a JSON value that is neither a record nor a list of records",
            )
            return
        self.format = "JSON array"
        for item_number, item in enumerate(document, 1):
            if isinstance(item, dict):
                yield build.generic(item, self.display, item_number, "item")
            else:
                yield Problem("AIR911", self.display, f"item {item_number}", "not a JSON object")


def _not_read(source: Source, why: str) -> Problem:
    source.format = "not read"
    return Problem("AIR910", source.display, "", why)
