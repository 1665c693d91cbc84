"""A BEIR folder: `corpus.jsonl`, `queries.jsonl` and `qrels/*.tsv` (query-id, corpus-id, score,
after a header row). Besides each file's shape: qrels that name an id that does not exist, and
a query judged in two qrels files (train and test), which is leakage inside the folder."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from airlock.datacheck.readers.beir_ids import Ids, digest
from airlock.datacheck.readers.interface import Source
from airlock.datacheck.readers.jsonl import JsonlSource
from airlock.datacheck.readers.tables import decoded_lines
from airlock.datacheck.records import Problem, Record
from airlock.datacheck.shapes import shapes

CORPUS, QUERIES = "corpus.jsonl", "queries.jsonl"


def is_beir(folder: Path) -> bool:
    return (folder / CORPUS).is_file() and (folder / QUERIES).is_file()


def sources(folder: Path, display: str) -> list[Source]:
    corpus, queries = Ids("corpus"), Ids("queries")
    every = shapes()
    found: list[Source] = [
        JsonlSource(folder / CORPUS, f"{display}/{CORPUS}", every["beir-corpus"], "corpus", corpus),
        JsonlSource(
            folder / QUERIES, f"{display}/{QUERIES}", every["beir-queries"], "queries", queries
        ),
    ]
    qrels = sorted((folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
    seen = Judged()
    found += [QrelsSource(p, f"{display}/qrels/{p.name}", corpus, queries, seen) for p in qrels]
    return found


class Judged:
    """Which qrels file first judged each query id: a query in two files leaks between them."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}


class QrelsSource(Source):
    def __init__(self, path: Path, display: str, corpus: Ids, queries: Ids, judged: Judged) -> None:
        super().__init__(path, display, "BEIR qrels (TSV)")
        self._corpus, self._queries, self._judged = corpus, queries, judged

    def read(self) -> Iterator[Record | Problem]:
        query_ids: list[tuple[str, int]] = []
        doc_ids: list[tuple[str, int]] = []
        here: set[str] = set()
        with open(self.path, "rb") as handle:
            lines = decoded_lines(handle, self.display, self)
            reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
            header_seen = False
            for row in reader:
                line = reader.line_num
                if not row or not any(cell.strip() for cell in row):
                    continue
                if not header_seen:
                    header_seen = True
                    if not _is_number(row[-1]):  # the header row; BEIR writes one
                        continue
                if len(row) != 3:
                    columns = f"{len(row)} columns where qrels have 3 (query, corpus id, score)"
                    yield Problem("AIR911", self.display, f"line {line}", columns)
                    continue
                query, doc, score = (cell.strip() for cell in row)
                if not _is_number(score):
                    yield Problem("AIR911", self.display, f"line {line}",
                                  f"score {score!r} is not a whole number")  # fmt: skip
                query_ids.append((query, line))
                doc_ids.append((doc, line))
                here.add(query)
        yield from self._unknown(query_ids, self._queries, "query")
        yield from self._unknown(doc_ids, self._corpus, "corpus")
        for query in sorted(here):
            other = self._judged.first.setdefault(query, self.display)
            if other != self.display:
                again = f"query {query!r} is also judged in {other}: one query in two splits"
                yield Problem("AIR922", self.display, "", again)

    def _unknown(self, ids: list[tuple[str, int]], known: Ids, what: str) -> Iterator[Problem]:
        digests = np.array([digest(text) for text, _ in ids], dtype=np.uint64)
        for index in np.flatnonzero(~known.known(digests)):
            text, line = ids[index]
            yield Problem("AIR911", self.display, f"line {line}",
                          f"{what} id {text!r} is not in {known.what}.jsonl")  # fmt: skip


def _is_number(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()
