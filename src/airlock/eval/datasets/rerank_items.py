"""Rerank items: `{"query": "...", "documents": ["...", ...], "labels": [2, 0, 1, ...]}`, one
relevance grade per document (0: not relevant; higher: more relevant)."""

from __future__ import annotations

from airlock.eval.datasets.interface import RerankItem
from airlock.eval.jsonl import Record, text_field, text_list

FIELDS = frozenset({"query", "documents", "labels"})


def parse_rerank(record: Record) -> RerankItem:
    query = text_field(record, "query")
    documents = text_list(record, "documents")
    labels = record.data.get("labels")
    if not isinstance(labels, list) or len(labels) != len(documents):
        raise record.error(f"'labels' must be a list of {len(documents)} grades, one per document")
    for i, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise record.error(f"labels[{i}] must be a whole number 0 or more, got {label!r}")
    if not any(labels):
        raise record.error("no relevant document: every label is 0, so no ranking can score")
    assert query is not None
    return RerankItem(query, documents, tuple(labels), f"{record.path}:{record.line}")
