"""Every error the gateway answers, in the OpenAI error shape, through the official client."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from airlock.gateway.config import GatewayConfig

from .conftest import Live, admit, serve


@pytest.fixture(scope="module")
def tampered(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny Llama, admitted, then one byte of its weights changed."""
    folder = tmp_path_factory.mktemp("tampered") / "llama"
    shutil.copytree(models["llama"], folder)
    admit(folder, "tampered")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    return folder


@pytest.fixture(scope="module")
def live(tampered: Path) -> Iterator[Live]:
    yield from serve(GatewayConfig(max_request_bytes=64 * 1024, queue_size=1))


def client(live: Live, key: str, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.url, api_key=key, max_retries=retries)


def test_missing_key_is_401(live: Live) -> None:
    response = httpx.post(f"{live.url}/embeddings", json={"model": "minilm", "input": "x"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"


def test_bad_and_revoked_keys_are_401(live: Live) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(live, "ak-not-a-key").models.list()
    key = live.key("to-revoke")
    live.keys.revoke("to-revoke")
    with pytest.raises(openai.AuthenticationError):
        client(live, key).models.list()


def test_model_not_allowed_is_404_as_if_it_did_not_exist(live: Live) -> None:
    key = live.key("only-minilm", models=["minilm"])
    with pytest.raises(openai.NotFoundError) as error:
        client(live, key).chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "hi"}]
        )
    assert error.value.body == {
        "message": "The model 'llama' does not exist or is not admitted",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert [m.id for m in client(live, key).models.list()] == ["minilm"]


def test_unknown_model_is_404(live: Live) -> None:
    with pytest.raises(openai.NotFoundError) as error:
        client(live, live.key("k404")).embeddings.create(model="not-admitted", input="x")
    assert error.value.code == "model_not_found"


def test_bad_input_is_400(live: Live) -> None:
    api = client(live, live.key("k400"))
    with pytest.raises(openai.BadRequestError):
        api.embeddings.create(model="minilm", input=[])
    with pytest.raises(openai.BadRequestError) as error:
        api.embeddings.create(model="minilm", input=[[101, 2023, 102]])  # tiktoken-style ids
    assert error.value.param == "input"
    assert "check_embedding_ctx_length=False" in error.value.message
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "hi"}], temperature=5
        )
    assert error.value.param == "temperature"
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(model="llama", messages=[], max_tokens=2)
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "hi"}], max_tokens=10**6
        )


def test_too_large_is_413(live: Live) -> None:
    with pytest.raises(openai.APIStatusError) as error:
        client(live, live.key("k413")).embeddings.create(model="minilm", input="word " * 20000)
    assert error.value.status_code == 413


def test_over_rate_is_429_with_retry_after(live: Live) -> None:
    api = client(live, live.key("slow", rpm=1))
    api.embeddings.create(model="minilm", input="first")
    with pytest.raises(openai.RateLimitError) as error:
        api.embeddings.create(model="minilm", input="second")
    retry_after = int(error.value.response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error.value.code == "rate_limit_exceeded"


def test_full_queue_is_429_with_retry_after(live: Live) -> None:
    key = live.key("burst")
    texts = [f"sentence {i} about the queue" for i in range(200)]

    def call(_: int) -> httpx.Response:
        body = {"model": "minilm", "input": texts}
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.post(f"{live.url}/embeddings", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(call, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert 200 in statuses and 429 in statuses, statuses
    for r in responses:
        if r.status_code == 429:
            assert r.headers["Retry-After"] == "1"
            assert r.json()["error"]["code"] == "model_queue_full"


def test_modified_model_is_refused(live: Live) -> None:
    with pytest.raises(openai.APIStatusError) as error:
        client(live, live.key("ktamper")).chat.completions.create(
            model="tampered", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
    assert error.value.status_code == 503
    assert error.value.code == "model_integrity_mismatch"
    assert "model.safetensors does not match its admitted hash" in error.value.message
    headers = {"Authorization": f"Bearer {live.key('khealth')}"}
    health = httpx.get(f"{live.url.removesuffix('/v1')}/health", headers=headers).json()
    assert "tampered" not in health["loaded"]


def test_metrics_need_a_key_and_usage_is_recorded(live: Live) -> None:
    from airlock.gateway.usage import summarize

    base = live.url.removesuffix("/v1")
    assert httpx.get(f"{base}/metrics").status_code == 401
    key = live.key("metrics")
    client(live, key).embeddings.create(model="minilm", input=["a", "b"])
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {key}"}).text
    assert 'airlock_requests_total{endpoint="embeddings",model="minilm",status="200"}' in text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = [r for r in summarize(live.registry.engine) if r.key == "metrics"]
        if rows:
            break
        time.sleep(0.2)
    assert rows[0].model == "minilm" and rows[0].requests == 1 and rows[0].prompt_tokens > 0
