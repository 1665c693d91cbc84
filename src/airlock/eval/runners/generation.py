"""Generation: each candidate answers each item (greedy, up to --max-tokens), and the answer is
scored by every chosen metric the item has what it needs for (and by the judge, when there is
one). A failed answer is scored as the empty answer."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from airlock.eval.candidates.interface import Candidate
from airlock.eval.datasets.interface import GenerationItem, ItemSet
from airlock.eval.judge import Judge
from airlock.eval.metrics import text
from airlock.eval.metrics.catalog import JUDGE
from airlock.eval.runners.board import Batch, Board, ItemScores, Progress
from airlock.eval.usage import Usage


def run_generation(
    data: ItemSet,
    candidates: Sequence[Candidate],
    metrics: Sequence[str],
    board: Board,
    max_tokens: int,
    judge: Judge | None,
    progress: Progress,
) -> None:
    progress.start(data.count, "items")
    for item in data.items():
        assert isinstance(item, GenerationItem)
        usage = [Usage() for _ in candidates]
        answers = []
        for c, candidate in enumerate(candidates):
            said = usage[c].attempt(item.where, partial(candidate.generate, item, max_tokens))
            if said is not None:
                usage[c].prompt_tokens += said.prompt_tokens
                usage[c].completion_tokens += said.completion_tokens
            answers.append(None if said is None else said.text)
        weights: dict[str, float] = {}
        scores: list[dict[str, float]] = [{} for _ in candidates]
        for metric in metrics:
            for c, answer in enumerate(answers):
                value = _score(metric, item, answer, judge)
                weights[metric] = 0.0 if value is None else 1.0
                scores[c][metric] = value or 0.0
        board.add(Batch([ItemScores(weights, scores)], usage))
        progress.advance(1)


def _score(
    metric: str, item: GenerationItem, answer: str | None, judge: Judge | None
) -> float | None:
    if metric == JUDGE:
        if judge is None:
            raise ValueError("the judge metric needs a judge")
        return 0.0 if answer is None else judge.rate(item, answer)
    return text.score(metric, item, answer or "")
