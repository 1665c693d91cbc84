"""Ranking metrics equal pytrec_eval's (trec_eval's C code) on the same rankings: graded
judgments, judged non-relevant documents, unjudged ones, ties in score, every cutoff."""

from __future__ import annotations

import random

import numpy as np
import pytest
import pytrec_eval

from airlock.eval.metrics.ir import IrMetric, parse_ir, query_scores, trec_order
from airlock.eval.runners import search

CUTOFFS = (1, 3, 5, 10, 100)


def _collection(seed: int, queries: int = 300) -> tuple[dict, dict]:
    rng = random.Random(seed)
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(queries):
        judged = {f"d{rng.randrange(400)}": rng.choice([0, 0, 1, 2, 3]) for _ in range(12)}
        if not any(judged.values()):
            judged[f"d{rng.randrange(400)}"] = 1
        qrels[f"q{q}"] = judged
        # Coarse scores: many ties, which trec_eval breaks by document id, descending.
        ranked = {
            f"d{rng.randrange(400)}": rng.randrange(20) / 4 for _ in range(rng.randint(0, 150))
        }
        for doc in list(judged)[: rng.randint(0, 6)]:
            ranked[doc] = rng.randrange(20) / 4
        run[f"q{q}"] = ranked
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_equals_pytrec_eval(seed: int) -> None:
    qrels, run = _collection(seed)
    measures = {f"ndcg_cut.{','.join(map(str, CUTOFFS))}", f"recall.{','.join(map(str, CUTOFFS))}"}
    measures.add(f"map_cut.{','.join(map(str, CUTOFFS))}")
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    metrics = [IrMetric(kind, k) for kind in ("ndcg", "recall", "map", "mrr") for k in CUTOFFS]
    checked = 0
    for query, judged in qrels.items():
        mine = dict(
            zip(metrics, query_scores(trec_order(run[query].items()), judged, metrics), strict=True)
        )
        for metric, value in mine.items():
            if metric.kind == "mrr":
                # trec_eval's recip_rank has no cutoff: give it the top k only.
                top = {d: run[query][d] for d in trec_order(run[query].items())[: metric.k]}
                want = pytrec_eval.RelevanceEvaluator({query: judged}, {"recip_rank"}).evaluate(
                    {query: top}
                )
                expected = want.get(query, {}).get("recip_rank", 0.0)
            else:
                name = {"ndcg": "ndcg_cut", "recall": "recall", "map": "map_cut"}[metric.kind]
                expected = reference[query][f"{name}_{metric.k}"]
            assert value == pytest.approx(expected, abs=1e-12), (query, metric)
            checked += 1
    assert checked == len(qrels) * len(metrics)


def test_a_query_with_no_relevant_document_is_refused() -> None:
    with pytest.raises(ValueError, match="no relevant"):
        query_scores(["a"], {"a": 0}, [IrMetric("ndcg", 10)])


def test_ties_are_broken_by_id_descending() -> None:
    assert trec_order([("a", 0.5), ("c", 0.9), ("b", 0.5), ("d", 0.5)]) == ["c", "d", "b", "a"]


@pytest.mark.parametrize(
    ("name", "parsed"),
    [("ndcg@10", IrMetric("ndcg", 10)), ("map@100", IrMetric("map", 100)), ("ndcg", None),
     ("ndcg@0", None), ("precision@5", None), ("mrr@x", None)],
)  # fmt: skip
def test_parse(name: str, parsed: IrMetric | None) -> None:
    assert parse_ir(name) == parsed


def test_top_k_is_the_exact_ranking_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocked search returns what sorting every score would, ties at the cut included."""
    monkeypatch.setattr(search, "_BLOCK_ROWS", 7)
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(60, 8)).astype(np.float32)
    corpus[30] = corpus[3]  # exact ties
    corpus[41] = corpus[3]
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    queries = np.stack([corpus[3], rng.normal(size=8).astype(np.float32)])
    usable = np.ones(60, dtype=bool)
    usable[10] = False  # a document that could not be embedded is never found
    ids = [f"doc{i:02d}" for i in range(60)]
    for k in (1, 2, 5, 60):
        found = search.top_k(queries, corpus, usable, ids, k)
        for row, ranked in zip(queries @ corpus.T, found, strict=True):
            pairs = [(ids[i], float(row[i])) for i in range(60) if usable[i]]
            assert ranked == trec_order(pairs)[:k]
    assert search.top_k(queries[:1], corpus, usable, ids, 2)[0] == ["doc41", "doc30"]
