"""Rerank: each candidate scores an item's documents for its query; the documents in score
order are scored by the ranking metrics against the item's labels."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from airlock.eval.candidates.interface import Candidate
from airlock.eval.datasets.interface import ItemSet, RerankItem
from airlock.eval.metrics.ir import IrMetric, query_scores, trec_order
from airlock.eval.runners.board import Batch, Board, ItemScores, Progress
from airlock.eval.usage import Usage


def run_rerank(
    data: ItemSet,
    candidates: Sequence[Candidate],
    metrics: Sequence[IrMetric],
    board: Board,
    progress: Progress,
) -> None:
    progress.start(data.count, "items")
    names = [m.name for m in metrics]
    ones = dict.fromkeys(names, 1.0)
    for item in data.items():
        assert isinstance(item, RerankItem)
        # Zero-padded positions as ids: ties in score fall back to trec_eval's id order.
        ids = [f"{i:08d}" for i in range(len(item.documents))]
        grades = dict(zip(ids, item.labels, strict=True))
        usage = [Usage() for _ in candidates]
        scores = []
        for c, candidate in enumerate(candidates):
            call = partial(candidate.rerank, item.query, list(item.documents))
            answer = usage[c].attempt(item.where, call)
            ranked: list[str] = []
            if answer is not None:
                usage[c].prompt_tokens += answer[1]
                ranked = trec_order(zip(ids, answer[0], strict=True))
            scores.append(dict(zip(names, query_scores(ranked, grades, metrics), strict=True)))
        board.add(Batch([ItemScores(ones, scores)], usage))
        progress.advance(1)
