"""Retrieval: every candidate embeds the corpus (in batches of similar length, as
sentence-transformers' encode orders them, so little padding is computed), then each batch of
queries is embedded and searched, and each query scored by the ranking metrics.

A candidate holds its corpus's vectors (documents x dimensions float32: 1.5 KB a document for a
384-dimension model); texts and rankings are never held beyond a batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from airlock.eval.candidates.interface import Candidate
from airlock.eval.datasets.interface import RetrievalSet
from airlock.eval.errors import DataError
from airlock.eval.metrics.ir import IrMetric, query_scores
from airlock.eval.runners.board import Batch, Board, ItemScores, Progress
from airlock.eval.runners.chunks import chunked
from airlock.eval.runners.embedding import embed_batch
from airlock.eval.runners.search import top_k
from airlock.eval.usage import Usage

# Documents read, then sorted by length, at a time: similar lengths share a batch.
SORT_WINDOW = 4096


def run_retrieval(
    data: RetrievalSet,
    candidates: Sequence[Candidate],
    metrics: Sequence[IrMetric],
    board: Board,
    batch_size: int,
    progress: Progress,
) -> None:
    progress.start(data.documents_count + data.count, "texts embedded")
    ids, corpora, usable = _embed_corpus(data, candidates, board, batch_size, progress)
    k = max(m.k for m in metrics)
    names = [m.name for m in metrics]
    ones = dict.fromkeys(names, 1.0)
    for queries in chunked(data.queries(), batch_size):
        usage = [Usage() for _ in candidates]
        texts, where = [q.text for q in queries], [q.where for q in queries]
        rankings: list[list[list[str]]] = []
        for c, candidate in enumerate(candidates):
            vectors, ok = embed_batch(candidate, texts, usage[c], where)
            corpus = corpora[c]
            if vectors is None or corpus is None:
                rankings.append([[] for _ in queries])
                continue
            found = top_k(vectors, corpus, usable[c], ids, k)
            rankings.append(
                [ranked if good else [] for ranked, good in zip(found, ok, strict=True)]
            )
        items = [
            ItemScores(
                ones,
                [
                    dict(zip(names, query_scores(r[i], q.relevant, metrics), strict=True))
                    for r in rankings
                ],
            )
            for i, q in enumerate(queries)
        ]
        board.add(Batch(items, usage))
        progress.advance(len(queries))


def _embed_corpus(
    data: RetrievalSet,
    candidates: Sequence[Candidate],
    board: Board,
    batch_size: int,
    progress: Progress,
) -> tuple[list[str], list[npt.NDArray[np.float32] | None], list[npt.NDArray[np.bool_]]]:
    total = data.documents_count
    ids: list[str] = []
    corpora: list[npt.NDArray[np.float32] | None] = [None for _ in candidates]
    usable = [np.zeros(total, dtype=bool) for _ in candidates]
    for window in chunked(data.documents(), SORT_WINDOW):
        base = len(ids)
        if base + len(window) > total:
            raise DataError(data.path, "the corpus changed while it was being read")
        longest_first = sorted(range(len(window)), key=lambda i: -len(window[i].text))
        for batch in chunked(longest_first, batch_size):
            texts = [window[i].text for i in batch]
            where = [f"document {window[i].id!r}" for i in batch]
            rows = base + np.array(batch)
            for c, candidate in enumerate(candidates):
                vectors, ok = embed_batch(candidate, texts, board.setup[c], where)
                if vectors is not None:
                    corpus = corpora[c]
                    if corpus is None:
                        corpus = corpora[c] = np.zeros((total, vectors.shape[1]), np.float32)
                    corpus[rows] = vectors
                usable[c][rows] = ok
            progress.advance(len(batch))
        ids.extend(document.id for document in window)
    if len(ids) != total:
        raise DataError(data.path, "the corpus changed while it was being read")
    return ids, corpora, usable
