"""Retrieval from one JSON Lines file: `{"query": "...", "positives": ["...", ...],
"negatives": ["...", ...]}`. The corpus searched is every positive and negative in the file,
each distinct text once; a query's positives are relevant (grade 1), its negatives judged not
relevant (grade 0), and every other document of the corpus is unjudged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from airlock.eval.datasets.interface import Document, Query, RetrievalSet, Task
from airlock.eval.datasets.item_files import BOOKKEEPING
from airlock.eval.jsonl import Record, check_keys, records, text_field, text_list

FIELDS = frozenset({"query", "positives", "negatives"})


def document_id(text: str) -> str:
    """The same text is the same document, wherever it appears."""
    return "d" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class RetrievalJsonl(RetrievalSet):
    task = Task.RETRIEVAL

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self.path = path
        self.files = (path,)
        seen: set[str] = set()
        count = 0
        fields: set[str] = set()
        for record in records(path):
            count += 1
            fields.update(record.data)
            _, positives, negatives = _parse(record)
            seen.update(document_id(text) for text in (*positives, *negatives))
        self.count = count
        self.documents_count = len(seen)
        self.fields = frozenset(fields - BOOKKEEPING)

    def documents(self) -> Iterator[Document]:
        seen: set[str] = set()
        for record in records(self.path):
            _, positives, negatives = _parse(record)
            for text in (*positives, *negatives):
                doc_id = document_id(text)
                if doc_id not in seen:
                    seen.add(doc_id)
                    yield Document(doc_id, text)

    def queries(self) -> Iterator[Query]:
        for record in records(self.path):
            query, positives, negatives = _parse(record)
            relevant = {document_id(text): 0 for text in negatives}
            relevant.update((document_id(text), 1) for text in positives)
            yield Query(f"q{record.line}", query, relevant, f"{record.path}:{record.line}")


def _parse(record: Record) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    check_keys(record, FIELDS | BOOKKEEPING, "retrieval")
    query = text_field(record, "query")
    assert query is not None
    return query, text_list(record, "positives"), text_list(record, "negatives", required=False)
