"""Embeddings through the official openai client, with the real all-MiniLM-L6-v2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openai
import pytest

from .conftest import Live


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("embeddings-test"))


@pytest.fixture(scope="module")
def reference(models: dict[str, Path]) -> object:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(models["minilm"]), device="cpu")


def test_models_lists_admitted(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"minilm", "llama", "rerank"} <= ids


def test_base64_default_matches_in_process(client: openai.OpenAI, reference: object) -> None:
    texts = ["Airlock serves admitted models.", "The weather is nice today."]
    result = client.embeddings.create(model="minilm", input=texts)  # the client asks for base64
    got = np.array([d.embedding for d in result.data], dtype=np.float32)
    want = reference.encode(texts)  # type: ignore[attr-defined]
    assert got.shape == (2, 384)
    assert np.allclose(got, want, atol=1e-4)
    assert result.usage.prompt_tokens > 4
    assert [d.index for d in result.data] == [0, 1]


def test_float_and_dimensions(client: openai.OpenAI) -> None:
    full = client.embeddings.create(model="minilm", input="hello", encoding_format="float")
    cut = client.embeddings.create(
        model="minilm", input="hello", encoding_format="float", dimensions=64
    )
    vector = np.array(cut.data[0].embedding)
    assert vector.shape == (64,)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    head = np.array(full.data[0].embedding[:64])
    assert np.allclose(vector, head / np.linalg.norm(head), atol=1e-5)


def test_large_batch(client: openai.OpenAI) -> None:
    texts = [f"sentence number {i}" for i in range(100)]
    result = client.embeddings.create(model="minilm", input=texts)
    assert len(result.data) == 100
    assert [d.index for d in result.data] == list(range(100))


def test_dimensions_too_large(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.embeddings.create(model="minilm", input="x", dimensions=1000)
    assert error.value.body["param"] == "dimensions"  # type: ignore[index]
