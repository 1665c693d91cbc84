"""The model category the console lists and filters by: from the recorded engine and files."""

from __future__ import annotations

import pytest

from airlock import engine_choice
from airlock.model_category import category


@pytest.mark.parametrize(
    ("engine", "files", "expected"),
    [
        (engine_choice.EMBEDDINGS, ["modules.json", "model.safetensors"], "embeddings"),
        (engine_choice.RERANK, ["config.json"], "rerank"),
        (engine_choice.TRANSCRIPTION, ["config.json"], "transcription"),
        (engine_choice.CAUSAL_LM, ["config.json", "tokenizer.json"], "chat"),
        (engine_choice.CAUSAL_LM, ["config.json", "fim_tokens.json"], "code"),
        (None, ["model.pkl"], None),
        ("an-engine-this-airlock-does-not-know", ["config.json"], None),
    ],
)
def test_category(engine: str | None, files: list[str], expected: str | None) -> None:
    assert category(engine, files) == expected
