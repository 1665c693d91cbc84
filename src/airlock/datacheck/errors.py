"""The one error a data check stops on: input it cannot read at all."""

from __future__ import annotations


class DataError(Exception):
    """Input that cannot be read as its format (not JSON, not UTF-8, a broken Parquet file), a
    path that does not exist, or a tokenizer that cannot be had. The message starts with the
    file and line, and is one line: the CLI prints it as is and exits 2."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
