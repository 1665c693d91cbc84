"""WER and CER equal jiwer's over a whole set (errors summed over reference lengths, not a
mean of per-clip rates), after the one normalization both texts get."""

from __future__ import annotations

import jiwer
import numpy as np
import pytest

from airlock.eval import stats
from airlock.eval.metrics.speech import character_errors, normalized, word_errors

REFERENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "Paris is the capital of France",
    "one two three four five six",
]
HYPOTHESES = [
    "the quick brown fox jumped over a lazy dog",
    "",
    "paris is capital of france france",
    "one too three for five six seven",
]
_NORMALIZE = [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces()]


def test_normalization() -> None:
    assert normalized("  Hello,   World! ") == "hello world"


def _set_value(counts: list[tuple[float, float]]) -> float:
    num = np.array([[c[0] for c in counts]])
    den = np.array([c[1] for c in counts])
    value = stats.analyse(num, den, higher_is_better=False)[0].value
    assert value is not None
    return value


def test_wer_equals_jiwers() -> None:
    transform = jiwer.Compose([*_NORMALIZE, jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])
    expected = jiwer.wer(
        REFERENCES, HYPOTHESES, reference_transform=transform, hypothesis_transform=transform
    )
    counts = [word_errors(r, h) for r, h in zip(REFERENCES, HYPOTHESES, strict=True)]
    assert _set_value(counts) == pytest.approx(expected, abs=1e-12)
    assert counts[1] == (2.0, 2.0)  # an empty transcript deletes every word


def test_cer_equals_jiwers() -> None:
    transform = jiwer.Compose([*_NORMALIZE, jiwer.Strip(), jiwer.ReduceToListOfListOfChars()])
    expected = jiwer.cer(
        REFERENCES, HYPOTHESES, reference_transform=transform, hypothesis_transform=transform
    )
    counts = [character_errors(r, h) for r, h in zip(REFERENCES, HYPOTHESES, strict=True)]
    assert _set_value(counts) == pytest.approx(expected, abs=1e-12)


def test_a_perfect_transcript_scores_zero_whatever_its_case_and_punctuation() -> None:
    assert word_errors("Hello, world!", "hello world")[0] == 0.0
    assert character_errors("Hello, world!", "HELLO WORLD")[0] == 0.0
