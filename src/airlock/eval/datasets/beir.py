"""Retrieval in the BEIR layout: a folder with `corpus.jsonl` (`{"_id", "title", "text"}`),
`queries.jsonl` (`{"_id", "text"}`) and `qrels/<split>.tsv` (`query-id<TAB>corpus-id<TAB>score`,
a header line allowed). A document's text is its title and text joined by a space, as BEIR
and MTEB embed it. Queries without a relevant document in the split (other splits' queries)
are not evaluated."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from airlock.eval.datasets.interface import Document, Query, RetrievalSet, Task
from airlock.eval.errors import DataError
from airlock.eval.jsonl import Record, records

CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
QRELS = "qrels"


def is_beir(folder: Path) -> bool:
    return (
        (folder / CORPUS).is_file() and (folder / QUERIES).is_file() and (folder / QRELS).is_dir()
    )


class BeirFolder(RetrievalSet):
    task = Task.RETRIEVAL

    def __init__(self, folder: Path, name: str, split: str | None) -> None:
        self.name = name
        self.path = folder
        qrels_path = _qrels_file(folder, split)
        self.files = (folder / CORPUS, folder / QUERIES, qrels_path)
        corpus_ids: set[str] = set()
        for record in records(folder / CORPUS):
            doc_id = _id(record)
            if doc_id in corpus_ids:
                raise record.error(f"document id {doc_id!r} appears twice")
            _document_text(record)
            corpus_ids.add(doc_id)
        query_ids: set[str] = set()
        for record in records(folder / QUERIES):
            query_id = _id(record)
            if query_id in query_ids:
                raise record.error(f"query id {query_id!r} appears twice")
            _query_text(record)
            query_ids.add(query_id)
        self._qrels = _read_qrels(qrels_path, query_ids, corpus_ids)
        self.documents_count = len(corpus_ids)
        self.count = sum(1 for grades in self._qrels.values() if any(grades.values()))
        self.fields = frozenset({"corpus", "queries", "qrels"})
        if not self.count:
            raise DataError(qrels_path, "no query has a relevant document (a score above 0)")

    def documents(self) -> Iterator[Document]:
        for record in records(self.path / CORPUS):
            yield Document(_id(record), _document_text(record))

    def queries(self) -> Iterator[Query]:
        for record in records(self.path / QUERIES):
            grades = self._qrels.get(_id(record))
            if grades and any(grades.values()):
                where = f"{record.path}:{record.line}"
                yield Query(_id(record), _query_text(record), grades, where)


def _qrels_file(folder: Path, split: str | None) -> Path:
    found = sorted(p for p in (folder / QRELS).glob("*.tsv") if p.is_file())
    names = ", ".join(p.stem for p in found) or "none"
    if split is not None:
        path = folder / QRELS / f"{split}.tsv"
        if not path.is_file():
            raise DataError(folder / QRELS, f"no split {split!r} (splits: {names})")
        return path
    if (folder / QRELS / "test.tsv").is_file():
        return folder / QRELS / "test.tsv"
    if len(found) == 1:
        return found[0]
    raise DataError(folder / QRELS, f"choose a split with --split (splits: {names})")


def _id(record: Record) -> str:
    value = record.data.get("_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise record.error("'_id' must be a non-empty string")
    return str(value)


def _document_text(record: Record) -> str:
    title, text = record.data.get("title") or "", record.data.get("text") or ""
    if not isinstance(title, str) or not isinstance(text, str):
        raise record.error("'title' and 'text' must be strings")
    joined = f"{title} {text}".strip()
    if not joined:
        raise record.error("the document has no text")
    return joined


def _query_text(record: Record) -> str:
    text = record.data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise record.error("'text' must be a non-empty string")
    return text


def _read_qrels(path: Path, query_ids: set[str], corpus_ids: set[str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise DataError(path, f"cannot read it: {exc.strerror or exc}") from None
    with handle:
        try:
            _fill_qrels(path, handle, query_ids, corpus_ids, qrels)
        except UnicodeDecodeError as exc:
            raise DataError(path, f"not UTF-8 text ({exc.reason})") from None
    return qrels


def _fill_qrels(
    path: Path,
    lines: Iterable[str],
    query_ids: set[str],
    corpus_ids: set[str],
    qrels: dict[str, dict[str, int]],
) -> None:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) != 3:
            raise DataError(path, "expected query-id, corpus-id and score, tab-separated", number)
        query_id, doc_id, score = parts
        if number == 1 and not score.strip().lstrip("-").isdigit():
            continue  # the header
        try:
            grade = int(score)
        except ValueError:
            raise DataError(path, f"score {score!r} is not a whole number", number) from None
        if grade < 0:
            raise DataError(path, f"score {grade} is negative", number)
        if query_id not in query_ids:
            raise DataError(path, f"query {query_id!r} is not in {QUERIES}", number)
        if doc_id not in corpus_ids:
            raise DataError(path, f"document {doc_id!r} is not in {CORPUS}", number)
        qrels.setdefault(query_id, {})[doc_id] = grade
