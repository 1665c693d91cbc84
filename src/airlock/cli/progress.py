"""Progress bars on stderr for long commands; absent in pipes and CI logs. Imported only when a
bar will show, so rich loads only for a terminal."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from airlock.scan.results import FileResult


class _Bar:
    """One transient bar (the report, not a finished bar, should be what remains on screen)."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def _start(self, total: int, *columns: str | ProgressColumn) -> None:
        self._bar = Progress(*columns, console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task("work", total=total)
        self._bar.start()

    def _advance(self, amount: float) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


class ScanProgress(_Bar):
    """Files scanned, fed by Scanner.scan_paths' callbacks; shown for 2+ files."""

    def start(self, total: int) -> None:
        if total >= 2:
            columns = (BarColumn(), MofNCompleteColumn(), "files", TimeElapsedColumn())
            self._start(total, "Scanning", *columns)

    def advance(self, result: FileResult) -> None:
        self._advance(1)


class ByteProgress(_Bar):
    """Bytes hashed, with throughput: a few large files are most of a model."""

    def start(self, files: int, total_bytes: int) -> None:
        if total_bytes:
            columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
            self._start(total_bytes, f"Hashing {files} files", *columns)

    def advance(self, done: int) -> None:
        self._advance(done)


class DownloadProgress(_Bar):
    """Bytes downloaded (and re-hashed, for files an earlier run left), with throughput."""

    def start(self, files: int, total_bytes: int) -> None:
        if total_bytes:
            columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
            self._start(total_bytes, f"Pulling {files} files", *columns)

    def advance(self, done: int) -> None:
        self._advance(done)


class RecordProgress(_Bar):
    """Bytes of data read, with throughput and the records so far (datacheck.check.Progress)."""

    def start(self, total_bytes: int) -> None:
        if total_bytes:
            columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
            self._start(total_bytes, "{task.description}", *columns)
            self.update(0, 0)

    def update(self, done_bytes: int, records: int) -> None:
        if self._bar is not None and self._task is not None:
            description = f"Checking {records:,} records"
            self._bar.update(self._task, completed=done_bytes, description=description)


class EvalProgress(_Bar):
    """Items (or texts embedded) evaluated, by every candidate."""

    def start(self, total: int, what: str) -> None:
        if total:
            columns = (BarColumn(), MofNCompleteColumn(), what, TimeElapsedColumn())
            self._start(total, "Evaluating", *columns, TimeRemainingColumn())

    def advance(self, done: int) -> None:
        self._advance(done)


class RevetProgress(_Bar):
    """Versions re-vetted (each one is a whole vet: hashing and scanning every file)."""

    def start(self, total: int) -> None:
        if total >= 2:
            columns = (BarColumn(), MofNCompleteColumn(), "versions", TimeElapsedColumn())
            self._start(total, "Re-vetting", *columns, TimeRemainingColumn())

    def advance(self, outcome: object) -> None:
        self._advance(1)
