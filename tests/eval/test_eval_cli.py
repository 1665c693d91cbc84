"""`airlock eval` as a command: help, reports in every format (escaped, self-contained), Ctrl-C
with a partial report, and usage errors as one line."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from airlock.cli import main
from airlock.eval.candidates import choose
from airlock.eval.candidates.interface import Candidate
from airlock.eval.candidates.specs import EndpointSpec, parse_endpoint, parse_model
from airlock.eval.datasets.interface import GenerationItem

from .scripted import Scripted
from .support import run_error, write_jsonl

QA = [
    {"prompt": "Capital of France?", "reference": "Paris"},
    {"prompt": "Capital of Italy?", "reference": "Rome"},
    {"prompt": "Capital of Spain?", "reference": "Madrid"},
]
HOSTILE = "<script>alert(1)</script>|**x**"


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """--endpoint NAME=... builds a scripted candidate: answers per name, set by the test."""
    answers: dict[str, Any] = {}

    def build(specs: Sequence[EndpointSpec], **_: Any) -> list[Candidate]:
        return [Scripted(s.name, answers[s.model]) for s in specs]

    monkeypatch.setattr(choose, "endpoint_candidates", build)
    return answers


def _right(item: GenerationItem) -> str:
    return {"Capital of France?": "Paris", "Capital of Italy?": "Rome"}.get(item.prompt or "", "?")


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "AIRLOCK_EVAL_KEY_" in out and "--endpoint" in out
    assert main(["--help"]) == 0
    assert "airlock eval" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format(
    fmt: str, tmp_path: Path, scripted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    scripted["good"] = _right
    scripted["bad"] = lambda item: "FAIL" if "Spain" in (item.prompt or "") else "no"
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    out = tmp_path / f"report.{fmt}"
    args = ["eval", str(path), "-e", "good=http://x/v1", "-e", f"{HOSTILE}=http://x/v1#bad"]
    assert main([*args, "--format", fmt, "-o", str(out)]) == 0, capsys.readouterr().err
    report = out.read_text()
    assert ("exact\\_match" if fmt == "markdown" else "exact_match") in report
    if fmt == "html":
        assert report.startswith("<!DOCTYPE html>") and "<svg" in report
        assert "<script" not in report and "&lt;script&gt;" in report
        assert not re.search(r"(src|href)=", report)  # nothing loaded from elsewhere
    elif fmt == "markdown":
        assert "\\<script\\>" in report and "\\*\\*x\\*\\*" in report
        assert "| exact\\_match | good | 0.667 |" in report
    elif fmt == "json":
        document = json.loads(report)
        assert [c["name"] for c in document["candidates"]] == ["good", HOSTILE]
    else:
        assert "0.667" in report and "worse" in report
        assert "first: " in report and f"{path}:3: scripted failure" in report


def test_ctrl_c_prints_the_partial_report_and_exits_130(
    tmp_path: Path, scripted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    calls = 0

    def interrupted(item: GenerationItem) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        return _right(item)

    scripted["a"], scripted["b"] = _right, interrupted
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    code = main(["eval", str(path), "-e", "a=http://x/v1", "-e", "b=http://x/v1", "-f", "json"])
    captured = capsys.readouterr()
    assert code == 130
    document = json.loads(captured.out)
    assert document["complete"] is False
    assert [c["items"] for c in document["candidates"]] == [2, 2]
    assert captured.err.strip() == (
        "airlock: error: interrupted: the report covers 2 of 3 items, those every candidate "
        "finished; nothing was recorded"
    )
    calls = 0
    assert main(["eval", str(path), "-e", "a=http://x/v1", "-e", "b=http://x/v1"]) == 130
    assert (
        "Interrupted: the numbers cover the 2 items every candidate finished, not the whole "
        in (capsys.readouterr().out)
    )


def test_ctrl_c_before_anything_finished(
    tmp_path: Path, scripted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    def stop(item: GenerationItem) -> str:
        raise KeyboardInterrupt

    scripted["a"] = stop
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    assert main(["eval", str(path), "-e", "a=http://x/v1", "-f", "json"]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "airlock: error: interrupted\n"


def test_usage_errors(
    tmp_path: Path, scripted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    scripted["a"] = scripted["b"] = _right
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    assert (
        run_error(capsys, str(path))
        == "nothing to evaluate: name candidates with --model or --endpoint"
    )
    assert run_error(capsys, str(path), "-e", "a=http://x/v1", "--metric", "ndcg@10") == (
        "metric 'ndcg@10' does not apply to generation data (available: exact_match, "
        "exact_match_normalized, token_f1, contains)"
    )
    assert "did you mean `token_f1`" in run_error(
        capsys, str(path), "-e", "a=http://x/v1", "--metric", "token-f1"
    )
    assert run_error(capsys, str(path), "-e", "a=http://x/v1", "--metric", "judge") == (
        "metric 'judge' does not apply to generation data; judge needs --judge (available: "
        "exact_match, exact_match_normalized, token_f1, contains)"
    )
    assert run_error(capsys, str(path), "-e", "a=http://x/v1", "--metric", "accuracy").startswith(
        "metric 'accuracy' does not apply to generation data; accuracy needs items with a "
        "'choices' field"
    )
    assert (
        run_error(capsys, str(path), "-e", "a=http://x/v1", "--rubric", "r.txt")
        == "--rubric goes with --judge"
    )
    faq = write_jsonl(tmp_path / "faq.jsonl", [{"query": "q", "positives": ["a"]}])
    assert run_error(capsys, str(faq), "-e", "a=http://x/v1", "--metric", "ndcg@x") == (
        "metric 'ndcg@x' does not apply to retrieval data (did you mean `ndcg@K`?) (available: "
        "ndcg@K, recall@K, mrr@K, map@K)"
    )
    assert run_error(capsys, str(faq), "-e", "a=http://x/v1", "--judge", "b=http://y/v1") == (
        "--judge rates generated answers: it applies to generation data only"
    )


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("prod=https://api.example.com/v1",
         EndpointSpec("prod", "https://api.example.com/v1", "prod")),
        ("p=http://gpu:8000/v1#meta-llama/Llama-3.1-8B",
         EndpointSpec("p", "http://gpu:8000/v1", "meta-llama/Llama-3.1-8B")),
    ],
)  # fmt: skip
def test_endpoint_specs(text: str, spec: EndpointSpec) -> None:
    assert parse_endpoint(text) == spec


@pytest.mark.parametrize(
    "text",
    [
        "prod",
        "=http://x",
        "p=ftp://x",
        "p=http://",
        "p=x",
        "p=http://h:99999/v1",
        "p=http://[::1/v1",
    ],
)
def test_bad_endpoint_specs(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError):
        parse_endpoint(text)
    assert main(["eval", "d.jsonl", "--endpoint", text]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("airlock: error: argument -e/--endpoint: expected")


@pytest.mark.parametrize(("text", "version"), [("minilm", None), ("minilm@3", 3)])
def test_model_specs(text: str, version: int | None) -> None:
    assert parse_model(text).version == version
    assert parse_model(text).label == text


@pytest.mark.parametrize("text", ["@3", "m@", "m@0", "m@x", "m@99999999999"])
def test_bad_model_specs(text: str) -> None:
    with pytest.raises(ValueError):
        parse_model(text)
