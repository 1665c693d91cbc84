"""Parquet, read a batch of rows at a time (pyarrow), so memory stays flat in the file's size.
Nested columns are walked like JSON; binary columns are not text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from airlock.datacheck import build
from airlock.datacheck.errors import DataError
from airlock.datacheck.readers.interface import Source
from airlock.datacheck.records import Problem, Record

BATCH_ROWS = 4096
MAGIC = b"PAR1"


class ParquetSource(Source):
    def __init__(self, path: Path, display: str) -> None:
        super().__init__(path, display, "Parquet")

    def read(self) -> Iterator[Record | Problem]:
        import pyarrow as pa  # type: ignore[import-untyped]  # only for Parquet input
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        row = 0
        try:
            parquet = pq.ParquetFile(self.path)
            total = max(parquet.metadata.num_rows, 1)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                for values in batch.to_pylist():
                    row += 1
                    yield build.generic(values, self.display, row, "row")
                self.done = self.size * row // total
        except (pa.ArrowException, OSError) as exc:
            where = f"{self.display}:row {row + 1}" if row else self.display
            raise DataError(where, f"not a readable Parquet file: {exc}") from None
