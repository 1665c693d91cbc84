"""Exact nearest-neighbour search over a corpus of unit vectors (cosine similarity), the top k
of each query in trec_eval's order. The corpus is scored in blocks, so a large one never needs
a queries x corpus matrix at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from airlock.eval.metrics.ir import trec_order

_BLOCK_ROWS = 65_536


def top_k(
    queries: npt.NDArray[np.float32],
    corpus: npt.NDArray[np.float32],
    usable: npt.NDArray[np.bool_],
    ids: Sequence[str],
    k: int,
) -> list[list[str]]:
    """For each query row, the ids of its k most similar usable corpus rows, best first (ties
    by id, descending: the documents tied at the k-th score are all considered)."""
    pools: list[dict[str, float]] = [{} for _ in range(len(queries))]
    for start in range(0, len(corpus), _BLOCK_ROWS):
        block = corpus[start : start + _BLOCK_ROWS]
        scores = queries @ block.T
        scores[:, ~usable[start : start + len(block)]] = -np.inf
        keep = min(k, len(block))
        for row, pool in zip(scores, pools, strict=True):
            kth = np.partition(row, len(row) - keep)[len(row) - keep]
            for index in np.flatnonzero(row >= kth):
                if np.isfinite(row[index]):
                    pool[ids[start + int(index)]] = float(row[index])
        for i, pool in enumerate(pools):
            if len(pool) > k:
                pools[i] = {d: pool[d] for d in trec_order(pool.items())[:k]}
    return [trec_order(pool.items()) for pool in pools]
