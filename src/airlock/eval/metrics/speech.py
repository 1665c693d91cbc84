"""Word and character error rates with jiwer itself (the implementation the field compares
against), after one normalization of both texts: lower case, punctuation removed (Unicode
punctuation, jiwer's RemovePunctuation), white space collapsed. Whisper writes capitals and
punctuation; references often have none; neither is a recognition error.

Each item gives (errors, reference length); a data set's rate is the sum of errors over the sum
of lengths (jiwer's rate over a list of sentences), not a mean of per-item rates."""

from __future__ import annotations

import jiwer

NORMALIZE = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),  # type: ignore[no-untyped-call]
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
    ]
)


def normalized(text: str) -> str:
    result: str = NORMALIZE(text)
    return result


def word_errors(reference: str, hypothesis: str) -> tuple[float, float]:
    """(substitutions + deletions + insertions, words in the reference)."""
    out = jiwer.process_words(normalized(reference), normalized(hypothesis))
    return (
        float(out.substitutions + out.deletions + out.insertions),
        float(out.substitutions + out.deletions + out.hits),
    )


def character_errors(reference: str, hypothesis: str) -> tuple[float, float]:
    """The same over characters (spaces count, as in jiwer's cer)."""
    out = jiwer.process_characters(normalized(reference), normalized(hypothesis))
    return (
        float(out.substitutions + out.deletions + out.insertions),
        float(out.substitutions + out.deletions + out.hits),
    )
