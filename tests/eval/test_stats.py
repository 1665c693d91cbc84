"""Bootstrap intervals and the paired permutation test, against scipy's implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from airlock.eval import stats


def _paired(seed: int, items: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=items)
    b = np.clip(a - shift + rng.normal(scale=0.2, size=items), 0, 1)
    return np.stack([a, b]), np.ones(items)


@pytest.mark.parametrize(("seed", "shift"), [(0, 0.0), (1, 0.05), (2, 0.15)])
def test_p_value_matches_scipys_paired_permutation_test(seed: int, shift: float) -> None:
    num, den = _paired(seed, 60, shift)
    best, other = sorted(stats.analyse(num, den, higher_is_better=True), key=lambda m: not m.best)
    assert best.best and best.p_value is None and not other.best
    expected = scipy_stats.permutation_test(
        (num[0], num[1]),
        lambda x, y: np.mean(x - y),
        permutation_type="samples",
        n_resamples=20_000,
        alternative="two-sided",
        random_state=5,
    ).pvalue
    assert other.p_value == pytest.approx(expected, abs=0.015)
    assert other.worse_than_best == (other.p_value < 0.05)


def test_exact_on_a_tiny_set() -> None:
    """Six items: 64 sign patterns, the exact p-value is countable by hand."""
    num = np.array([[1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0]], dtype=float)
    # |sum of +-1 over five ones| >= 5 only when all five signs agree: 2 * 2 (sixth free) / 64
    p = stats.analyse(num, np.ones(6), higher_is_better=True)[1].p_value
    assert p == pytest.approx(4 / 64, abs=0.01)


def test_bootstrap_interval_matches_scipys_percentile_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With as many resamples on both sides, the Monte Carlo error (about 0.003 here) stays well
    under the gap to a 90% interval (0.014): a wrong level or method would show."""
    monkeypatch.setattr(stats, "RESAMPLES", 20_000)
    for seed in range(3):
        scores = np.random.default_rng(seed).uniform(size=40)
        ours = stats.analyse(scores[None, :], np.ones(40), higher_is_better=True)[0]
        theirs = scipy_stats.bootstrap(
            (scores,), np.mean, n_resamples=20_000, method="percentile", random_state=1
        ).confidence_interval
        assert ours.value == pytest.approx(scores.mean())
        assert ours.ci95 is not None
        assert ours.ci95[0] == pytest.approx(theirs.low, abs=0.005)
        assert ours.ci95[1] == pytest.approx(theirs.high, abs=0.005)


def test_ratio_metrics_resample_items_not_words() -> None:
    """WER-like: errors over reference words; the interval brackets the pooled rate."""
    errors = np.array([[1.0, 0.0, 5.0, 2.0, 0.0, 3.0]])
    words = np.array([10.0, 4.0, 12.0, 8.0, 3.0, 9.0])
    (result,) = stats.analyse(errors, words, higher_is_better=False)
    assert result.value == pytest.approx(11 / 46)
    assert result.ci95 is not None and result.ci95[0] <= 11 / 46 <= result.ci95[1]


def test_lower_is_better_picks_the_smallest() -> None:
    num = np.array([[3.0, 4.0, 5.0] * 10, [0.0, 1.0, 0.0] * 10])
    first, second = stats.analyse(num, np.full(30, 10.0), higher_is_better=False)
    assert second.best and not first.best
    assert first.worse_than_best and first.p_value is not None and first.p_value < 0.001


def test_identical_candidates_tie_for_best() -> None:
    num = np.array([[0.2, 0.9, 0.5], [0.2, 0.9, 0.5]])
    a, b = stats.analyse(num, np.ones(3), higher_is_better=True)
    assert a.best and b.best and a.p_value is None and b.p_value is None


def test_items_a_metric_does_not_apply_to_weigh_nothing() -> None:
    num = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    den = np.array([1.0, 0.0, 1.0])
    a, _ = stats.analyse(num, den, higher_is_better=True)
    assert a.value == pytest.approx(0.5)
    none = stats.analyse(num, np.zeros(3), higher_is_better=True)
    assert all(m.value is None and m.ci95 is None for m in none)


def test_the_same_scores_give_the_same_report() -> None:
    num, den = _paired(7, 40, 0.1)
    assert stats.analyse(num, den, higher_is_better=True) == stats.analyse(
        num, den, higher_is_better=True
    )
