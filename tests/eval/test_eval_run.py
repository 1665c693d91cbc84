"""The run's own logic with scripted candidates: the same items for all, Ctrl-C keeping what
finished, failed items, the judge, and the result document's shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airlock.eval.datasets.interface import GenerationItem
from airlock.eval.judge import Judge, default_prompt
from airlock.eval.result import EvalResult
from airlock.eval.run import Plan, evaluate

from .scripted import Scripted
from .support import faq_rows, write_jsonl

QA = [
    {"prompt": "Capital of France?", "reference": "Paris"},
    {"prompt": "Capital of Italy?", "reference": ["Rome", "Roma"]},
    {"prompt": "2+2?", "reference": "4", "pattern": r"^\d+$"},
    {"prompt": "Pick one", "choices": ["red", "blue"], "answer": 1},
    {"prompt": "A JSON object", "schema": {"type": "object", "required": ["a"]}},
]
RIGHT = {"Capital of France?": "Paris", "Capital of Italy?": "roma.", "2+2?": "4",
         "Pick one": "B", "A JSON object": '{"a": 1}'}  # fmt: skip


def _right(item: GenerationItem) -> str:
    return RIGHT[item.prompt or ""]


def test_two_candidates_side_by_side(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    good, bad = (
        Scripted("good", _right),
        Scripted("bad", lambda item: "FAIL" if item.prompt == "2+2?" else "no idea"),
    )
    result = evaluate(Plan(path, [good, bad]))
    assert result.complete and result.task == "generation"
    assert list(result.metrics) == [
        "exact_match", "exact_match_normalized", "token_f1", "contains", "accuracy", "regex",
        "json_valid", "schema_valid"]  # fmt: skip
    g, b = result.candidates
    assert g.metrics["exact_match"].value == pytest.approx(2 / 3)  # "roma." is not exact
    assert g.metrics["exact_match_normalized"].value == 1.0
    assert g.metrics["accuracy"].value == 1.0 and g.metrics["schema_valid"].value == 1.0
    assert b.metrics["exact_match_normalized"].value == 0.0 and b.failed == 1
    assert b.first_failure == f"{path}:3: scripted failure"
    assert all(m.best for m in g.metrics.values())
    assert b.metrics["token_f1"].p_value is not None and not b.metrics["token_f1"].best
    assert g.tokens == (15, 10) and b.tokens == (12, 8)  # the failed request used none
    assert g.items == b.items == 5 and good.closed and bad.closed


def test_ctrl_c_keeps_the_items_every_candidate_finished(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    first = Scripted("first", _right)
    calls = 0

    def interrupted(item: GenerationItem) -> str:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return _right(item)

    second = Scripted("second", interrupted)
    result = evaluate(Plan(path, [first, second]))
    assert not result.complete
    # Item 4: the first candidate answered, the second was interrupted: dropped for both.
    assert first.calls == 4 and [c.items for c in result.candidates] == [3, 3]
    assert result.dataset.items == 5
    assert result.candidates[0].metrics["exact_match"].value == pytest.approx(2 / 3)
    assert result.candidates[0].metrics["accuracy"].value is None  # item 4 never finished
    assert first.closed and second.closed


def test_ctrl_c_before_any_item_finished_is_an_interrupt(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA)

    def stop(item: GenerationItem) -> str:
        raise KeyboardInterrupt

    candidate = Scripted("x", stop)
    with pytest.raises(KeyboardInterrupt):
        evaluate(Plan(path, [candidate]))
    assert candidate.closed


def test_the_judge_rates_each_answer(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA[:2])
    seen: list[str] = []

    def rater(item: GenerationItem) -> str:
        assert item.messages is not None
        prompt = item.messages[0]["content"]
        seen.append(prompt)
        return "Clear and correct.\nScore: 4" if "Paris" in prompt.split("<<<ANSWER")[1] else "hmm"

    template, rubric = default_prompt()
    judge = Judge(Scripted("judge", rater), template, rubric)
    result = evaluate(
        Plan(path, [Scripted("a", _right)], metrics=["judge", "exact_match"], judge=judge)
    )
    assert result.metrics == ("judge", "exact_match")
    assert result.candidates[0].metrics["judge"].value == pytest.approx((0.75 + 0) / 2)
    assert result.judge is not None and result.judge.failed == 1  # "hmm" has no score
    assert "{question}" in result.judge.prompt and "{rubric}" not in result.judge.prompt
    assert rubric.splitlines()[0] in result.judge.prompt
    assert "[Question]\nCapital of France?" in seen[0] and "[Reference answer]\nParis" in seen[0]


def test_an_answer_cannot_fill_the_judges_placeholders(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA[:1])
    seen: list[str] = []

    def rater(item: GenerationItem) -> str:
        assert item.messages is not None
        seen.append(item.messages[0]["content"])
        return "Score: 1"

    judge = Judge(Scripted("judge", rater), "Q {question} A {answer} R {rubric}", "be fair")
    evaluate(
        Plan(path, [Scripted("a", lambda _: "{rubric} {question}")], metrics=["judge"], judge=judge)
    )
    assert seen == ["Q Capital of France? A {rubric} {question} R be fair"]


def test_retrieval_and_rerank_with_scripted_embeddings(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", faq_rows())
    result = evaluate(Plan(path, [Scripted("a", _right), Scripted("b", _right)], batch_size=3))
    assert result.task == "retrieval" and result.complete
    assert result.candidates[0].metrics == result.candidates[1].metrics
    assert result.candidates[0].items == len(faq_rows())


def test_the_json_document(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    result = evaluate(
        Plan(path, [Scripted("good", _right), Scripted("bad", lambda _: "x")], name="support-qa")
    )
    document: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    assert set(document) == {
        "schema_version", "airlock_version", "task", "complete", "dataset", "metrics",
        "candidates", "judge", "statistics"}  # fmt: skip
    assert document["schema_version"] == 1 and document["task"] == "generation"
    assert document["dataset"]["name"] == "support-qa"
    assert set(document["dataset"]) == {"name", "path", "sha256", "bytes", "items"}
    assert len(document["dataset"]["sha256"]) == 64 and document["dataset"]["items"] == 5
    candidate = document["candidates"][1]
    assert set(candidate) == {
        "name", "kind", "model", "endpoint", "metrics", "latency_ms", "items_per_s", "tokens",
        "items", "failed", "first_failure"}  # fmt: skip
    assert set(candidate["metrics"]) == set(document["metrics"])
    assert set(candidate["metrics"]["token_f1"]) == {
        "value",
        "ci95",
        "best",
        "worse_than_best",
        "p_value",
    }
    assert set(candidate["latency_ms"]) == {"p50", "p95"}
    assert set(candidate["tokens"]) == {"prompt", "completion"}
    assert EvalResult.from_dict(document) == result


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d.update(task="dance"), "task"),
        (lambda d: d["dataset"].pop("sha256"), "sha256: missing"),
        (lambda d: d["candidates"][0]["metrics"].pop("regex"), "lacks regex"),
        (lambda d: d["candidates"][0].update(items=True), "items: expected int"),
        (lambda d: d["candidates"][0]["metrics"]["regex"].update(ci95=[0]), "ci95"),
        (lambda d: d["candidates"][0].update(kind="cloud"), "kind"),
    ],
)
def test_from_dict_refuses_a_damaged_document(tmp_path: Path, change: Any, words: str) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    document = evaluate(Plan(path, [Scripted("good", _right)])).to_dict()
    change(document)
    with pytest.raises(ValueError, match=words):
        EvalResult.from_dict(document)


def test_transcription_rates_are_jiwers_over_the_set(tmp_path: Path) -> None:
    import jiwer

    from airlock.eval.candidates.interface import Answer
    from airlock.eval.datasets.interface import TranscriptionItem

    from .support import tone_wav

    heard = {"Hello, world!": "hello word", "The lazy dog sleeps.": "", "One two three": "one two"}
    for i in range(3):
        tone_wav(tmp_path / f"{i}.wav", 0.2)
    rows = [{"audio": f"{i}.wav", "text": text} for i, text in enumerate(heard)]

    class Listener(Scripted):
        def transcribe(self, item: TranscriptionItem) -> Answer:
            return Answer(heard[item.text], 0, 0)

    result = evaluate(Plan(write_jsonl(tmp_path / "m.jsonl", rows), [Listener("ear", _right)]))
    words = jiwer.Compose(
        [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
         jiwer.Strip(), jiwer.ReduceToListOfListOfWords()]
    )  # fmt: skip
    expected = jiwer.wer(
        list(heard), list(heard.values()), reference_transform=words, hypothesis_transform=words
    )
    assert result.candidates[0].metrics["wer"].value == pytest.approx(expected)
    assert expected == pytest.approx(6 / 9)  # 1 substitution + 4 deletions + 1 deletion, 9 words
