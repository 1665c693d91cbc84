"""How sure the numbers are: a 95% percentile-bootstrap interval per metric and candidate, and a
paired permutation test of each candidate against the best one.

Every metric is a ratio of sums over items (a mean has denominator 1 per item; WER sums errors
over reference words), so a resample re-weights items and recomputes the ratio. The
denominators belong to the items (the reference, the field an item has), not to the
candidates, so the paired test compares candidates on the very same items: it flips, item by
item at random, which candidate gave which score (sign flips of the per-item differences;
two-sided). A permutation test rather than a paired bootstrap: its p-value holds for small sets
and it makes no assumption about the shape of the differences (Smucker, Allan and Carterette,
CIKM 2007, found it the test to use for IR metrics). Seeded: the same run gives the same report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RESAMPLES = 1000
PERMUTATIONS = 10_000
ALPHA = 0.05
SEED = 0
# Random draws per chunk (rows x items): bounds the memory a large data set takes here.
_CHUNK_CELLS = 4_000_000
# A very large set gets fewer permutations (never under 1,000): its p-values are tiny anyway.
_MAX_PERMUTATION_CELLS = 200_000_000

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetricStats:
    value: float | None  # None: no finished item had what this metric needs
    ci95: tuple[float, float] | None
    best: bool
    worse_than_best: bool
    p_value: float | None  # against the best; None for the best (and any tied with it)


def analyse(num: Floats, den: Floats, *, higher_is_better: bool) -> list[MetricStats]:
    """One metric: `num` is candidates x items, `den` the items' denominators."""
    candidates, items = num.shape
    total = float(den.sum())
    if items == 0 or total == 0:
        return [MetricStats(None, None, False, False, None) for _ in range(candidates)]
    values = num.sum(axis=1) / total
    lows, highs = _bootstrap(num, den)
    best_value = values.max() if higher_is_better else values.min()
    best = int(np.flatnonzero(values == best_value)[0])
    p_values = _permutation_p(num - num[best], exclude=best)
    out = []
    for c in range(candidates):
        is_best = bool(values[c] == best_value)
        p = None if is_best else float(p_values[c])
        worse = not is_best and p is not None and p < ALPHA
        ci = (float(lows[c]), float(highs[c]))
        out.append(MetricStats(float(values[c]), ci, is_best, worse, p))
    return out


def _bootstrap(num: Floats, den: Floats) -> tuple[Floats, Floats]:
    rng = np.random.default_rng(SEED)
    items = den.shape[0]
    weights = np.full(items, 1 / items)
    draws: list[Floats] = []
    for rows in _chunks(RESAMPLES, items):
        counts = rng.multinomial(items, weights, size=rows).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws.append((counts @ num.T) / (counts @ den)[:, None])
    stats = np.concatenate(draws)
    low, high = np.nanpercentile(stats, [2.5, 97.5], axis=0)
    return low, high


def _permutation_p(differences: Floats, *, exclude: int) -> Floats:
    """Two-sided p-value of each row's sum of differences under random sign flips."""
    rng = np.random.default_rng(SEED + 1)
    items = differences.shape[1]
    rounds = max(1000, min(PERMUTATIONS, _MAX_PERMUTATION_CELLS // max(items, 1)))
    observed = np.abs(differences.sum(axis=1))
    extreme = np.zeros(differences.shape[0])
    for rows in _chunks(rounds, items):
        signs = rng.integers(0, 2, size=(rows, items)).astype(np.float64) * 2 - 1
        flipped = np.abs(signs @ differences.T)
        # A tolerance: sums of floats in another order differ in the last bits.
        extreme += (flipped >= observed - 1e-9 * (1 + observed)).sum(axis=0)
    p: Floats = (extreme + 1) / (rounds + 1)
    p[exclude] = 1.0
    return p


def _chunks(total: int, items: int) -> list[int]:
    step = max(1, _CHUNK_CELLS // max(items, 1))
    return [min(step, total - start) for start in range(0, total, step)]
