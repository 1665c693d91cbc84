"""What a key learns about models it may not use, over HTTP: nothing. Every model route answers
such a model exactly as a name that does not exist (404, same body, same headers); /v1/models,
/health and /metrics leave it out; /health without a valid key says only that the server lives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from airlock.gateway.config import GatewayConfig, Upstream

from .conftest import Live, admit, serve
from .scripted_engine import make, scripted

ROUTES = [
    ("POST", "/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/completions", {"prompt": "hi"}),
    ("POST", "/embeddings", {"input": "hi"}),
    ("POST", "/rerank", {"query": "q", "documents": ["d"]}),
    ("POST", "/audio/transcriptions", None),  # multipart
    ("POST", "/audio/translations", None),
    ("GET", "/models/{model}", None),
]


@pytest.fixture(scope="module")
def live(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("exposure")
    for name in ("x-one", "x-two"):
        admit(make(root, name, reply=name), name)
    # An upstream that is never reached: hidden, it must be answered before any relay.
    config = GatewayConfig(upstreams=(Upstream("x-up", "http://127.0.0.1:9/v1"),))
    yield from serve(config, loader=scripted)


@pytest.fixture(scope="module")
def keys(live: Live) -> dict[str, str]:
    return {"one": live.key("x-only-one", models=["x-one"]), "all": live.key("x-all")}


def call(
    live: Live, key: str, method: str, path: str, body: dict[str, object] | None, model: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    url = live.url + path.format(model=model)
    if method == "GET":
        return httpx.get(url, headers=headers)
    if body is None:
        files = {"file": ("a.wav", b"RIFF....WAVE", "audio/wav")}
        return httpx.post(url, data={"model": model}, files=files, headers=headers)
    return httpx.post(url, json={"model": model, **body}, headers=headers)


def not_found(model: str) -> dict[str, object]:
    return {
        "error": {
            "message": f"The model '{model}' does not exist or is not admitted",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_model_the_key_may_not_use_is_answered_as_one_that_does_not_exist(
    live: Live, keys: dict[str, str], method: str, path: str, body: dict[str, object] | None
) -> None:
    answers = {m: call(live, keys["one"], method, path, body, m) for m in ("x-two", "x-up", "nope")}
    for model, response in answers.items():
        assert response.status_code == 404, (model, response.text)
        assert response.json() == not_found(model)
    shapes = {
        m: (r.headers.get("content-type"), r.text.replace(m, "M")) for m, r in answers.items()
    }
    assert shapes["x-two"] == shapes["x-up"] == shapes["nope"]


def test_listing_shows_only_the_keys_models(live: Live, keys: dict[str, str]) -> None:
    def listed(key: str) -> list[str]:
        response = httpx.get(f"{live.url}/models", headers={"Authorization": f"Bearer {key}"})
        return [m["id"] for m in response.json()["data"]]

    assert listed(keys["one"]) == ["x-one"]
    assert {"x-one", "x-two", "x-up"} <= set(listed(keys["all"]))


def test_health_without_a_valid_key_is_liveness_only(live: Live, keys: dict[str, str]) -> None:
    for name in ("x-one", "x-two"):
        assert call(live, keys["all"], *ROUTES[0], name).status_code == 200
    health = f"{live.url.removesuffix('/v1')}/health"
    assert httpx.get(health).json() == {"status": "ok"}
    bad = httpx.get(health, headers={"Authorization": "Bearer ak-not-a-key"})
    assert (bad.status_code, bad.json()) == (200, {"status": "ok"})

    def loaded(key: str) -> object:
        return httpx.get(health, headers={"Authorization": f"Bearer {key}"}).json()["loaded"]

    assert loaded(keys["all"]) == ["x-one", "x-two"]
    assert loaded(keys["one"]) == ["x-one"]


def test_metrics_show_a_limited_key_only_its_models(live: Live, keys: dict[str, str]) -> None:
    for name in ("x-one", "x-two"):
        assert call(live, keys["all"], *ROUTES[0], name).status_code == 200
    metrics = f"{live.url.removesuffix('/v1')}/metrics"
    assert httpx.get(metrics).status_code == 401

    def scrape(key: str) -> str:
        return httpx.get(metrics, headers={"Authorization": f"Bearer {key}"}).text

    everything = scrape(keys["all"])
    assert 'model="x-two"' in everything and "airlock_request_seconds_bucket" in everything
    limited = scrape(keys["one"])
    assert 'airlock_requests_total{endpoint="chat",model="x-one",status="200"}' in limited
    assert 'airlock_tokens_total{kind="prompt",model="x-one"}' in limited
    assert "x-two" not in limited and "x-up" not in limited
    # Series without a model add up every model's traffic: a limited key does not get them.
    assert "airlock_request_seconds" not in limited and "airlock_models_loaded" not in limited
