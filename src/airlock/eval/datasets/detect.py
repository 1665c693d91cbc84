"""Which task a data set poses, from its shape: a BEIR folder is retrieval; a JSON Lines file
is retrieval, rerank, generation or transcription by the fields of its first record (every
other record must then be of the same kind)."""

from __future__ import annotations

from pathlib import Path

from airlock.eval.datasets import generation_items, rerank_items, transcription_items
from airlock.eval.datasets.beir import BeirFolder, is_beir
from airlock.eval.datasets.interface import DataSet, Task
from airlock.eval.datasets.item_files import ItemFile
from airlock.eval.datasets.retrieval_jsonl import RetrievalJsonl
from airlock.eval.errors import DataError
from airlock.eval.jsonl import records

# The field that tells each task apart, checked in this order.
_MARKERS = (
    ("audio", Task.TRANSCRIPTION),
    ("positives", Task.RETRIEVAL),
    ("documents", Task.RERANK),
    ("messages", Task.GENERATION),
    ("prompt", Task.GENERATION),
)
_EXPECTED = (
    "a BEIR folder (corpus.jsonl, queries.jsonl, qrels/), or a JSON Lines file of "
    "{query, positives} (retrieval), {query, documents, labels} (rerank), "
    "{messages | prompt, ...} (generation) or {audio, text} (transcription)"
)


def open_dataset(path: Path, *, name: str | None = None, split: str | None = None) -> DataSet:
    """The data set at `path`, every record checked; DataError (file and line) otherwise."""
    label = name or (path.stem if path.is_file() else path.resolve().name)
    if path.is_dir():
        if is_beir(path):
            return BeirFolder(path, label, split)
        raise DataError(path, f"not a data set folder: expected {_EXPECTED}")
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if split is not None:
        raise DataError(path, "--split applies to BEIR folders only")
    task = _task_of(path)
    if task is Task.RETRIEVAL:
        return RetrievalJsonl(path, label)
    if task is Task.RERANK:
        return ItemFile(task, path, label, rerank_items.parse_rerank, rerank_items.FIELDS)
    if task is Task.GENERATION:
        fields = generation_items.FIELDS
        return ItemFile(task, path, label, generation_items.parse_generation, fields)
    fields = transcription_items.FIELDS
    return ItemFile(task, path, label, transcription_items.parse_transcription, fields)


def _task_of(path: Path) -> Task:
    for record in records(path):
        for marker, task in _MARKERS:
            if marker in record.data:
                return task
        raise record.error(f"cannot tell the task from this record: expected {_EXPECTED}")
    raise DataError(path, "no records (the file is empty)")
