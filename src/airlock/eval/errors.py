"""What can stop an evaluation, each with the words its one-line error prints."""

from __future__ import annotations

from pathlib import Path


class EvalError(Exception):
    """The evaluation cannot run as asked (an unknown model, a metric the task lacks...)."""


class DataError(EvalError):
    """The data set is malformed; the message names the file and, where there is one, the line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


class CandidateError(EvalError):
    """A candidate cannot answer at all (unreachable, refused our key, unknown model): every
    item would fail the same way, so the run stops instead of scoring it zero."""
