"""Metrics for generated text, one answer against one item, each 0 or 1 except token F1:

- exact_match: the answer equals a reference once leading and trailing white space is removed;
- exact_match_normalized, token_f1: SQuAD's (lower case, punctuation and the articles a, an,
  the removed, white space collapsed); token F1 is the best over the references;
- contains: a reference's normalized words appear, in order and together, in the answer's;
- regex: the item's `pattern` matches somewhere in the answer (Python `re.search`);
- json_valid: the whole answer (white space aside) parses as JSON; schema_valid: and meets the
  item's schema (jsonschema, the draft the schema names, 2020-12 otherwise);
- accuracy: the answer picks the item's `answer` among its `choices` (see `chosen`).
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from airlock.eval.datasets.interface import GenerationItem

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# "B", "B)", "(B)", "B.", "B:" or "Answer: B" at the start of the answer; a capital followed by
# a word ("A cat") is a sentence, not a choice.
_LETTER = re.compile(r"^\s*(?:(?i:answer)\s*[:\-]?\s*)?\(?([A-Z])(?:[).:\]]|\s*$)")


def normalize(text: str) -> str:
    """SQuAD v1.1's normalize_answer."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION))
    return " ".join(text.split())


def exact_match(answer: str, references: Sequence[str]) -> float:
    return float(any(answer.strip() == ref.strip() for ref in references))


def exact_match_normalized(answer: str, references: Sequence[str]) -> float:
    return float(any(normalize(answer) == normalize(ref) for ref in references))


def token_f1(answer: str, references: Sequence[str]) -> float:
    return max(_f1(normalize(answer).split(), normalize(ref).split()) for ref in references)


def _f1(predicted: list[str], truth: list[str]) -> float:
    common = sum((Counter(predicted) & Counter(truth)).values())
    if not predicted or not truth:
        return float(predicted == truth)  # SQuAD: two empty answers agree
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def contains(answer: str, references: Sequence[str]) -> float:
    words = normalize(answer).split()
    for ref in references:
        wanted = normalize(ref).split()
        if wanted and any(
            words[i : i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1)
        ):
            return 1.0
    return 0.0


def regex(answer: str, pattern: str) -> float:
    return float(re.search(pattern, answer) is not None)


def json_valid(answer: str) -> float:
    return float(_parsed(answer) is not _INVALID)


def schema_valid(answer: str, schema: Mapping[str, Any]) -> float:
    from jsonschema import validators  # type: ignore[import-untyped]

    value = _parsed(answer)
    if value is _INVALID:
        return 0.0
    return float(validators.validator_for(schema)(schema).is_valid(value))


_INVALID = object()


def _parsed(answer: str) -> Any:
    try:
        return json.loads(answer.strip())
    except ValueError:
        return _INVALID


def chosen(answer: str, choices: Sequence[str]) -> int | None:
    """Which choice the answer picks: the one it equals once normalized; else the choice whose
    letter (A for the first) it starts with, as in "B", "(B)", "B) Paris" or "Answer: B";
    else none (counted wrong)."""
    said = normalize(answer)
    for i, choice in enumerate(choices):
        if said == normalize(choice):
            return i
    letter = _LETTER.match(answer)
    if letter is not None:
        index = ord(letter.group(1)) - ord("A")
        if 0 <= index < len(choices):
            return index
    return None


def accuracy(answer: str, choices: Sequence[str], correct: int) -> float:
    return float(chosen(answer, choices) == correct)


def score(metric: str, item: GenerationItem, answer: str) -> float | None:
    """`metric` for one answer, or None when the item lacks what the metric needs."""
    if metric in _BY_REFERENCE:
        return _BY_REFERENCE[metric](answer, item.references) if item.references else None
    if metric == "accuracy":
        return None if item.answer is None else accuracy(answer, item.choices, item.answer)
    if metric == "regex":
        return None if item.pattern is None else regex(answer, item.pattern)
    if metric == "json_valid":
        return None if item.schema is None else json_valid(answer)
    if metric == "schema_valid":
        return None if item.schema is None else schema_valid(answer, item.schema)
    raise ValueError(f"{metric} is not a text metric")


_BY_REFERENCE = {
    "exact_match": exact_match,
    "exact_match_normalized": exact_match_normalized,
    "token_f1": token_f1,
    "contains": contains,
}
