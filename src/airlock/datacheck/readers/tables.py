"""CSV and TSV: a header row, then one record per row (a quoted field may span lines; the
record's line is where it starts). Every column is a field; see build.generic."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from airlock.datacheck import build
from airlock.datacheck.errors import DataError
from airlock.datacheck.readers.interface import MAX_DOCUMENT_BYTES, MIB, Source
from airlock.datacheck.records import Problem, Record

# The csv module's default (128 KiB) refuses long documents; a field may be as long as a line.
if TYPE_CHECKING:
    from _csv import Reader

csv.field_size_limit(min(sys.maxsize, MAX_DOCUMENT_BYTES))


class CsvSource(Source):
    def __init__(self, path: Path, display: str) -> None:
        tsv = path.suffix.lower() == ".tsv"
        super().__init__(path, display, "TSV" if tsv else "CSV")
        self._delimiter = "\t" if tsv else ","

    def read(self) -> Iterator[Record | Problem]:
        with open(self.path, "rb") as handle:
            reader = csv.reader(
                decoded_lines(handle, self.display, self), delimiter=self._delimiter
            )
            try:
                yield from self._rows(reader)
            except csv.Error as exc:
                raise DataError(f"{self.display}:{reader.line_num}", f"not CSV: {exc}") from None

    def _rows(self, reader: Reader) -> Iterator[Record | Problem]:
        header = next(reader, None)
        if header is None:
            return
        names = _unique(header)
        if len(set(header)) < len(header):
            yield Problem("AIR911", self.display, "line 1",
                          "the header names a column twice; later ones were renamed")  # fmt: skip
        end = 1  # the line the previous row ended on
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:
                continue
            if len(row) != len(names):
                yield Problem("AIR911", self.display, f"line {start}",
                              f"{len(row)} fields where the header has {len(names)}")  # fmt: skip
            yield build.generic(dict(zip(names, row, strict=False)), self.display, start, "line")


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return names


def decoded_lines(handle: BinaryIO, display: str, source: Source) -> Iterator[str]:
    """The file's lines as text, each checked to be UTF-8 (a byte-order mark is dropped), with
    the bytes read counted on `source` for the progress bar."""
    for number, raw in enumerate(iter(lambda: handle.readline(MAX_DOCUMENT_BYTES + 1), b""), 1):
        source.done += len(raw)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise DataError(
                f"{display}:{number}", f"a line longer than {MAX_DOCUMENT_BYTES // MIB} MiB"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{display}:{number}", f"not UTF-8 text (byte {exc.start + 1} of the line)"
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text
