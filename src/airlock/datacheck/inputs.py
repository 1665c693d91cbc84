"""Which reader reads each path handed in: by content where it can tell (Parquet's magic
bytes), else by name; a folder is a BEIR folder or a folder of data files."""

from __future__ import annotations

from pathlib import Path

from airlock.artifact import ArtifactError, collect
from airlock.datacheck.errors import DataError
from airlock.datacheck.readers import beir
from airlock.datacheck.readers.documents import JsonDocumentSource, TextSource
from airlock.datacheck.readers.interface import Source, Unreadable
from airlock.datacheck.readers.jsonl import JsonlSource
from airlock.datacheck.readers.parquet import MAGIC, ParquetSource
from airlock.datacheck.readers.tables import CsvSource

_JSONL = (".jsonl", ".ndjson", ".jsonlines")
_TABLES = (".csv", ".tsv")


def sources(path: str) -> list[Source]:
    """The readers for one PATH argument, in the order they read; DataError if it is missing."""
    root = Path(path)
    if root.is_dir():
        if beir.is_beir(root):
            return beir.sources(root, path.rstrip("/"))
        return _folder(root, path)
    if root.is_file():
        return [_file(root, path)]
    raise DataError(path, "no such file or folder")


def _folder(root: Path, path: str) -> list[Source]:
    try:
        files = collect([root])
    except ArtifactError as exc:
        raise DataError(path, str(exc)) from None
    found: list[Source] = []
    for entry in files:
        relative = entry.path.relative_to(root)
        # Hidden files and folders (.git, .DS_Store, editor state) are not data.
        if any(part.startswith(".") for part in relative.parts):
            continue
        display = f"{path.rstrip('/')}/{relative.as_posix()}"
        if entry.escapes_root:
            found.append(
                Unreadable(entry.path, display, "a link that leaves the folder: not followed")
            )
        else:
            found.append(_file(entry.path, display))
    return found


def _file(path: Path, display: str) -> Source:
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(MAGIC))
    except OSError as exc:
        raise DataError(display, f"cannot read it: {exc.strerror or exc}") from None
    if magic == MAGIC or suffix == ".parquet":
        return ParquetSource(path, display)
    if suffix in _JSONL:
        return JsonlSource(path, display)
    if suffix == ".json":
        return JsonDocumentSource(path, display)
    if suffix in _TABLES:
        return CsvSource(path, display)
    return TextSource(path, display)
