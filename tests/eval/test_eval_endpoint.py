"""OpenAI-compatible endpoints as candidates, through the official openai client, against a
live gateway on 127.0.0.1 serving the same admitted models: an endpoint and the admitted model
it serves score the same, for every task."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.conftest import Live

from .support import faq_rows, run_error, run_json, tone_wav, write_jsonl

TASK_METRICS = {
    "retrieval": ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map@100"),
    "rerank": ("ndcg@10", "mrr@10", "map@100"),
}


@pytest.fixture(scope="module")
def key(gateway: Live) -> str:
    return gateway.key("eval-test")


@pytest.fixture
def served(gateway: Live, key: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The gateway's base URL, its key in the variable the endpoint named `served` reads."""
    monkeypatch.setenv("AIRLOCK_EVAL_KEY_SERVED", key)
    return gateway.url


def _same(document: dict, admitted: str) -> None:
    admitted_row, endpoint_row = document["candidates"]
    assert (admitted_row["kind"], endpoint_row["kind"]) == ("admitted", "endpoint")
    assert endpoint_row["model"] is None and endpoint_row["endpoint"].startswith("http://127.0.0.1")
    assert admitted_row["name"] == admitted and endpoint_row["name"] == "served"
    for metric in document["metrics"]:
        ours, theirs = admitted_row["metrics"][metric], endpoint_row["metrics"][metric]
        assert ours["value"] == pytest.approx(theirs["value"], abs=1e-9), metric
        assert ours["best"] and theirs["best"] and theirs["p_value"] is None
    assert endpoint_row["failed"] == 0 and endpoint_row["items"] == admitted_row["items"]


def test_retrieval(
    minilm: str, served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", faq_rows())
    document = run_json(capsys, str(path), "-m", minilm, "-e", f"served={served}#minilm")
    _same(document, minilm)
    assert (
        document["candidates"][1]["tokens"]["prompt"]
        == document["candidates"][0]["tokens"]["prompt"]
    )


def test_rerank(
    cross_encoder: str, served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"query": "capital of france", "labels": [0, 2, 1],
         "documents": ["the lazy dog", "paris is the capital of france", "berlin"]},
        {"query": "hello", "documents": ["hello world", "the quick brown fox"], "labels": [1, 0]},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "rerank.jsonl", rows)
    _same(
        run_json(capsys, str(path), "-m", cross_encoder, "-e", f"served={served}#rerank"), "rerank"
    )


def test_generation_chat_and_completion(
    llama: str, served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "hello world"}], "reference": "hello",
         "pattern": "o"},
        {"prompt": "the quick brown fox", "reference": ["jumps", "the lazy dog"], "pattern": "^$"},
        {"prompt": "paris is", "choices": ["the capital", "a dog"], "answer": 0,
         "schema": {"type": "object"}},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "gen.jsonl", rows)
    document = run_json(
        capsys, str(path), "-m", llama, "-e", f"served={served}#llama", "--max-tokens", "5"
    )
    _same(document, llama)
    admitted_row, endpoint_row = document["candidates"]
    assert admitted_row["tokens"] == endpoint_row["tokens"]


def test_transcription(
    whisper: str, served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tone_wav(tmp_path / "clips" / "a.wav", 1.5)
    rows = [{"audio": "clips/a.wav", "text": "hello world"}]
    path = write_jsonl(tmp_path / "manifest.jsonl", rows)
    _same(run_json(capsys, str(path), "-m", whisper, "-e", f"served={served}#whisper"), whisper)


def test_a_refused_key_names_the_variable(
    gateway: Live, minilm: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("AIRLOCK_EVAL_KEY_PROD_API", raising=False)
    path = write_jsonl(tmp_path / "faq.jsonl", faq_rows())
    line = run_error(capsys, str(path), "-e", f"prod.api={gateway.url}#minilm")
    assert line.startswith(
        "endpoint 'prod.api' refused the request (401); set AIRLOCK_EVAL_KEY_PROD_API"
    )
    monkeypatch.setenv("AIRLOCK_EVAL_KEY_PROD_API", "ak-wrong")
    line = run_error(capsys, str(path), "-e", f"prod.api={gateway.url}#minilm")
    assert line.startswith("endpoint 'prod.api' refused the request (401): ")


def test_an_unknown_model_or_server_stops_the_run(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", faq_rows())
    line = run_error(capsys, str(path), "-e", f"served={served}#nope")
    assert line.startswith("endpoint 'served' has no model 'nope' or does not offer this API (404)")
    from gateway.conftest import free_port

    line = run_error(
        capsys, str(path), "-e", f"gone=http://127.0.0.1:{free_port()}/v1", "--timeout", "5"
    )
    assert line.startswith("endpoint 'gone' (http://127.0.0.1:")
