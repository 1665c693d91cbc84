"""Generation metrics on cases worked out by hand (SQuAD's normalization and token F1 as its
official evaluation script defines them)."""

from __future__ import annotations

import pytest

from airlock.eval.datasets.interface import GenerationItem
from airlock.eval.metrics import text


def test_normalize_is_squads() -> None:
    assert text.normalize("  The Eiffel-Tower, in PARIS!  ") == "eiffeltower in paris"
    assert text.normalize("an apple a day") == "apple day"


def test_exact_match_strict_and_normalized() -> None:
    assert text.exact_match(" Paris\n", ["Paris"]) == 1.0
    assert text.exact_match("paris", ["Paris"]) == 0.0
    assert text.exact_match_normalized("The paris.", ["Paris"]) == 1.0
    assert text.exact_match_normalized("Paris, France", ["Paris"]) == 0.0
    assert text.exact_match_normalized("Lyon", ["Paris", "lyon"]) == 1.0  # any reference


def test_token_f1_by_hand() -> None:
    # answer tokens: new york city (3); reference: new york (2); common 2:
    # precision 2/3, recall 1, F1 = 2 * (2/3) / (2/3 + 1) = 0.8
    assert text.token_f1("New York City", ["new york"]) == pytest.approx(0.8)
    # repeated tokens count once each: "the cat the cat" -> [cat, cat]; ref [cat]: P 1/2 R 1
    assert text.token_f1("the cat the cat", ["a cat"]) == pytest.approx(2 / 3)
    assert text.token_f1("Berlin", ["Paris", "Berlin Germany"]) == pytest.approx(2 / 3)
    assert text.token_f1("nothing", ["Paris"]) == 0.0
    assert text.token_f1("", ["the"]) == 1.0  # both empty once normalized (SQuAD v2)


def test_contains_takes_whole_words_in_order() -> None:
    assert text.contains("The capital is Paris, of course.", ["paris"]) == 1.0
    assert text.contains("comparison", ["paris"]) == 0.0
    assert text.contains("york new", ["New York"]) == 0.0
    assert text.contains("I live in New York now", ["new york"]) == 1.0


def test_regex_searches() -> None:
    assert text.regex("order #12345 shipped", r"#\d{5}\b") == 1.0
    assert text.regex("order 1234", r"#\d{5}") == 0.0


def test_json_and_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
        "required": ["city"],
    }
    assert text.json_valid(' {"city": "Paris"} ') == 1.0
    assert text.json_valid('```json\n{"city": "Paris"}\n```') == 0.0  # fenced is not JSON
    assert text.json_valid("{'city': 'Paris'}") == 0.0
    assert text.schema_valid('{"city": "Paris", "zip": 75001}', schema) == 1.0
    assert text.schema_valid('{"city": "Paris", "zip": "75001"}', schema) == 0.0
    assert text.schema_valid('{"zip": 1}', schema) == 0.0
    assert text.schema_valid("not json", schema) == 0.0


@pytest.mark.parametrize(
    ("answer", "picked"),
    [("Paris", 1), (" paris. ", 1), ("B", 1), ("(B)", 1), ("B) Paris", 1), ("Answer: C", 2),
     ("A cat sat", None), ("D", None), ("I think Paris", None), ("b", None)],
)  # fmt: skip
def test_choice_picked(answer: str, picked: int | None) -> None:
    assert text.chosen(answer, ["London", "Paris", "Rome"]) == picked
    assert text.accuracy(answer, ["London", "Paris", "Rome"], 1) == float(picked == 1)


def test_score_says_which_metrics_apply() -> None:
    item = GenerationItem("x:1", prompt="q", references=("Paris",), pattern=r"\d")
    assert text.score("exact_match", item, "Paris") == 1.0
    assert text.score("regex", item, "Paris") == 0.0
    assert text.score("accuracy", item, "Paris") is None
    assert text.score("schema_valid", item, "{}") is None
    with pytest.raises(ValueError):
        text.score("judge", item, "Paris")
