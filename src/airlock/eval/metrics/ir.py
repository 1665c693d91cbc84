"""Ranking metrics with trec_eval's definitions (what pytrec_eval, BEIR and MTEB report):

- ndcg@k: DCG with linear gains (the relevance grade) and log2(rank + 1) discounts, over the
  ideal DCG of the judged relevant documents;
- recall@k: relevant documents in the top k over all relevant documents;
- mrr@k: 1 / rank of the first relevant document in the top k (0 if none);
- map@k: precision at each relevant document in the top k, summed, over all relevant
  documents (trec_eval's map_cut, not divided by min(k, relevant)).

A document is relevant when its grade is 1 or more. Ties in score are broken as trec_eval
breaks them: by document id, descending. Computed here in plain Python, one query at a time
as its ranking is made: a run is never held whole, and no JIT start-up (ranx compiles with
numba on first use) delays a short evaluation (docs/eval.md has the measurements).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

KINDS = ("ndcg", "recall", "mrr", "map")
MAX_K = 10_000


@dataclass(frozen=True)
class IrMetric:
    kind: str
    k: int

    @property
    def name(self) -> str:
        return f"{self.kind}@{self.k}"


def parse_ir(name: str) -> IrMetric | None:
    """`ndcg@10` -> IrMetric; None when `name` is no ranking metric."""
    kind, _, k = name.partition("@")
    if kind not in KINDS or not k.isdigit() or not 1 <= int(k) <= MAX_K:
        return None
    return IrMetric(kind, int(k))


def trec_order(scored: Iterable[tuple[str, float]]) -> list[str]:
    """Document ids best first: score descending, then id descending (trec_eval's order)."""
    return [doc for doc, _ in sorted(scored, key=lambda pair: (pair[1], pair[0]), reverse=True)]


def query_scores(
    ranked: Sequence[str], grades: Mapping[str, int], metrics: Sequence[IrMetric]
) -> list[float]:
    """Each metric for one query, given its documents best first and its judgments."""
    relevant = sorted((g for g in grades.values() if g > 0), reverse=True)
    if not relevant:
        raise ValueError("a query with no relevant document cannot be scored")
    found = [grades.get(doc, 0) for doc in ranked]
    return [_score(metric, found, relevant) for metric in metrics]


def _score(metric: IrMetric, found: list[int], relevant: list[int]) -> float:
    top = found[: metric.k]
    if metric.kind == "ndcg":
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(top) if g > 0)
        ideal = sum(g / math.log2(i + 2) for i, g in enumerate(relevant[: metric.k]))
        return dcg / ideal
    if metric.kind == "recall":
        return sum(1 for g in top if g > 0) / len(relevant)
    if metric.kind == "mrr":
        return next((1 / (i + 1) for i, g in enumerate(top) if g > 0), 0.0)
    hits = 0
    total = 0.0
    for i, g in enumerate(top):
        if g > 0:
            hits += 1
            total += hits / (i + 1)
    return total / len(relevant)
