"""A progress bar on stderr while a multi-file scan runs; absent in pipes and CI logs."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from airlock.scanner import FileResult


class ScanProgress:
    """Feeds Scanner.scan_paths' callbacks; does nothing unless enabled and there are 2+ files."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        if not self._enabled or total < 2:
            return
        self._bar = Progress(
            "Scanning",
            BarColumn(),
            MofNCompleteColumn(),
            "files",
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,  # the report, not a finished bar, should be what remains on screen
        )
        self._task = self._bar.add_task("scan", total=total)
        self._bar.start()

    def advance(self, result: FileResult) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)

    def __enter__(self) -> ScanProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
