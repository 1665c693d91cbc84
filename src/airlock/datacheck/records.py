"""What every reader yields: records, and problems found while reading them."""

from __future__ import annotations

from dataclasses import dataclass

# Duplicates are looked for within a group: the records of generic files and eval formats,
# or the documents and the queries of a BEIR folder (a query equal to a document is fine).
RECORDS = "records"
# Units of records that are a whole file: a text file, or a JSON document that is one object.
WHOLE_FILE, DOCUMENT = "file", "document"


@dataclass(frozen=True, slots=True)
class Record:
    file: str  # as the user named it
    line: int  # 1-based line (JSONL, CSV), row (Parquet) or item (JSON array); 0: a whole file
    unit: str  # "line", "row", "item"; WHOLE_FILE or DOCUMENT for a file that is one record
    texts: tuple[tuple[str, str], ...]  # every string of the record: (field, text)
    key: str  # the input a model sees: compared for duplicates and leakage, measured for length
    must_have_text: tuple[tuple[str, str], ...]  # (field, text) that must not be empty
    label: str | None = None
    group: str = RECORDS
    leak: bool = True  # compared with --against data for train/test leakage

    @property
    def where(self) -> str:
        return f"{self.unit} {self.line}" if self.line else ""


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding a reader makes: a record of the wrong shape, a file it cannot read."""

    rule_id: str
    file: str
    where: str  # "line 17", or "" for the whole file
    message: str
