"""POST /v1/rerank with a tiny BERT cross-encoder (the openai client has no rerank method)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .conftest import Live

DOCS = ["paris is the capital of france", "the lazy dog", "hello world", "berlin germany"]


@pytest.fixture(scope="module")
def headers(gateway: Live) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.key('rerank-test')}"}


def test_rerank_orders_and_matches_in_process(
    gateway: Live, headers: dict[str, str], models: dict[str, Path]
) -> None:
    from sentence_transformers import CrossEncoder

    body = {"model": "rerank", "query": "capital of france", "documents": DOCS, "top_n": 3}
    response = httpx.post(f"{gateway.url}/rerank", json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 3
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(r["document"]["text"] == DOCS[r["index"]] for r in results)
    reference = CrossEncoder(str(models["rerank"]), device="cpu")
    want = reference.predict([("capital of france", d) for d in DOCS])
    for r in results:
        assert r["relevance_score"] == pytest.approx(float(want[r["index"]]), abs=1e-4)
    assert response.json()["usage"]["prompt_tokens"] > 0


def test_rerank_without_documents_text(gateway: Live, headers: dict[str, str]) -> None:
    body = {"model": "rerank", "query": "dog", "documents": DOCS, "return_documents": False}
    response = httpx.post(f"{gateway.url}/rerank", json=body, headers=headers, timeout=60)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(DOCS)
    assert all("document" not in r for r in results)


def test_object_documents_and_vllm_paths_agree(gateway: Live, headers: dict[str, str]) -> None:
    root = gateway.url.removesuffix("/v1")
    plain = {"model": "rerank", "query": "capital of france", "documents": DOCS}
    objects = {**plain, "documents": [{"text": d, "title": "ignored"} for d in DOCS]}
    answers = [
        httpx.post(f"{root}{path}", json=body, headers=headers, timeout=60)
        for path, body in [("/v1/rerank", plain), ("/v2/rerank", objects), ("/rerank", objects)]
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    first = [(r["index"], r["document"]["text"]) for r in answers[0].json()["results"]]
    for other in answers[1:]:
        assert [(r["index"], r["document"]["text"]) for r in other.json()["results"]] == first
    bad = {**plain, "documents": [{"title": "no text"}]}
    response = httpx.post(f"{root}/v1/rerank", json=bad, headers=headers, timeout=60)
    assert response.status_code in (400, 422)
    assert "error" in response.json()
