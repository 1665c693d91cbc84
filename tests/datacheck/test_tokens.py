"""Over-long records, in tokens of an admitted model's own tokenizer: read only from the
registry's hash-verified copy of its tokenizer files (never weights, never another folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests.gateway import tiny_models

from airlock.cli import main
from airlock.datacheck import tokens

from .conftest import write_jsonl

CONTEXT = 64


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    saved = {name: os.environ.get(name) for name in ("AIRLOCK_HOME", "AIRLOCK_DATABASE_URL")}
    os.environ["AIRLOCK_HOME"] = str(home)
    os.environ.pop("AIRLOCK_DATABASE_URL", None)
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _admit(folder: Path, name: str) -> None:
    assert main(["admit", str(folder), "--name", name, "--force", "--reason", "test fixture"]) == 0


@pytest.fixture(scope="module")
def models(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    llama = tiny_models.make_llama(root / "llama", context=CONTEXT)
    _admit(llama, "tiny-llama")
    # A BERT tokenizer without tokenizer.json: transformers builds it from vocab.txt.
    bert = tiny_models.make_cross_encoder(root / "bert")
    (bert / "tokenizer.json").unlink()
    _admit(bert, "tiny-bert")
    return {"tiny-llama": llama, "tiny-bert": bert}


def _reference_counts(folder: Path, texts: list[str]) -> list[int]:
    """The same tokenizer through transformers' own loader, an independent count."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]


def test_over_long_records_in_the_models_tokens(
    models: dict[str, Path], tmp_path: Path, check: Any
) -> None:
    texts = [
        "hello world",
        "the quick brown fox " * 30,
        "paris is the capital of france",
        "zq" * 200,
    ]
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    result = check(data, "--model", "tiny-llama", "--format", "json")
    counts = _reference_counts(models["tiny-llama"], texts)
    long = [i for i, count in enumerate(counts) if count > CONTEXT]
    assert long == [1, 3]
    report = result.json()
    assert report["tokens"]["context_tokens"] == CONTEXT
    assert report["tokens"]["from"] == "config.json max_position_embeddings"
    assert report["tokens"]["lengths"]["records"]["max"] == max(counts)
    assert report["tokens"]["lengths"]["records"]["min"] == min(counts)
    assert [e["location"]["members"] for e in result.rule("AIR913")["examples"]] == [
        ["line 2"],
        ["line 4"],
    ]
    message = result.rule("AIR913")["examples"][0]["message"]
    assert message == f"{counts[1]:,} tokens, more than the {CONTEXT} that tiny-llama reads"


def test_a_tokenizer_without_tokenizer_json_and_max_tokens(
    models: dict[str, Path], tmp_path: Path, check: Any
) -> None:
    texts = ["hello world", "the quick brown fox jumps over the lazy dog"]
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in texts])
    result = check(data, "--model", "tiny-bert", "--max-tokens", "8", "--format", "json")
    counts = _reference_counts(models["tiny-bert"], texts)
    assert counts[0] <= 8 < counts[1]
    assert result.json()["tokens"]["from"] == "--max-tokens"
    assert result.rule("AIR913")["count"] == 1


def test_only_tokenizer_files_are_copied(
    models: dict[str, Path], tmp_path: Path, check: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []
    real = tokens.verified_copy

    def spy(model: Any, *args: Any, **kwargs: Any) -> Any:
        copied.extend(f.path for f in model.files)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(tokens, "verified_copy", spy)
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "hello"}])
    assert check(data, "--model", "tiny-llama").code == 0
    assert "tokenizer.json" in copied and "config.json" in copied
    assert not [path for path in copied if path.endswith(".safetensors")]


def test_unknown_model_is_one_line(models: dict[str, Path], tmp_path: Path, check: Any) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "hello"}])
    result = check(data, "--model", "tiny-lama")
    assert (result.code, result.out) == (2, "")
    assert (
        result.err
        == "airlock: error: --model tiny-lama: not an admitted model (did you mean `tiny-llama`?)\n"
    )


def test_a_tampered_tokenizer_is_refused(
    models: dict[str, Path], tmp_path: Path, check: Any
) -> None:
    tokenizer = models["tiny-llama"] / "tokenizer.json"
    original = tokenizer.read_bytes()
    tokenizer.write_bytes(
        original.replace(b'"hello"', b'"hellO"', 1) if b'"hello"' in original else original + b" "
    )
    try:
        result = check(
            write_jsonl(tmp_path / "d.jsonl", [{"text": "hello"}]), "--model", "tiny-llama"
        )
    finally:
        tokenizer.write_bytes(original)
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.startswith(
        "airlock: error: --model tiny-llama: model 'tiny-llama': tokenizer.json does not match "
        "its admitted hash"
    )


def test_max_tokens_needs_a_model(tmp_path: Path, check: Any) -> None:
    result = check(write_jsonl(tmp_path / "d.jsonl", [{"text": "hello"}]), "--max-tokens", "5")
    assert (result.code, result.err) == (
        2,
        "airlock: error: --max-tokens needs --model (the tokenizer that counts the tokens)\n",
    )
