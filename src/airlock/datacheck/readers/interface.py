"""What every reader is: a file read once, front to back, as records and problems."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from airlock.datacheck.records import Problem, Record

MIB = 1024 * 1024
# A single line, text file or JSON document larger than this is refused rather than held in
# memory: a record that size is an accident (a dump in one line), not a training example.
MAX_DOCUMENT_BYTES = 64 * MIB


class Source(ABC):
    """One input file. `done` (bytes read so far) feeds the progress bar; `format` says what
    it was read as once reading has started."""

    def __init__(self, path: Path, display: str, format_name: str) -> None:
        self.path = path
        self.display = display
        self.format = format_name
        self.done = 0
        self.size = path.stat().st_size

    @abstractmethod
    def read(self) -> Iterator[Record | Problem]:
        """Records in file order; raises DataError on input that cannot be read at all."""


class Unreadable(Source):
    """A file of no format Airlock reads as data: one AIR910 finding instead of records."""

    def __init__(self, path: Path, display: str, why: str) -> None:
        self.path = path
        self.display = display
        self.format = "not read"
        self.done = 0
        self.size = 0
        self._why = why

    def read(self) -> Iterator[Record | Problem]:
        yield Problem("AIR910", self.display, "", self._why)
