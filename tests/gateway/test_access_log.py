"""One access log line per request (text or JSON), written by the app; unknown routes and
wrong methods in the OpenAI error shape; no progress bars in a real server's stderr."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from airlock.gateway.auth import KeyStore, hash_key
from airlock.gateway.config import GatewayConfig
from airlock.registry.store import Registry

from .conftest import Live, free_port, serve

FIELDS = ["time", "method", "path", "status", "latency_ms", "key", "model", "request_id"]


def access_lines(caplog: pytest.LogCaptureFixture, count: int) -> list[str]:
    """The access lines, once `count` are written: the server's thread writes each one just
    after the response's last byte, which the client may have read first."""
    deadline = time.monotonic() + 10
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name == "airlock.access"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_text_line_per_request(gateway: Live, caplog: pytest.LogCaptureFixture) -> None:
    key = gateway.key("log-text")
    api = openai.OpenAI(base_url=gateway.url, api_key=key, max_retries=0)
    with caplog.at_level(logging.INFO, logger="airlock.access"):
        response = api.embeddings.with_raw_response.create(model="minilm", input="hello")
        [line] = access_lines(caplog, 1)
    request_id = response.headers["x-request-id"]
    assert " POST /v1/embeddings 200 " in line
    assert line.endswith(f"ms key=log-text model=minilm request_id={request_id}")
    assert key not in line and hash_key(key) not in line and key[:10] not in line


def test_errors_and_streams_are_logged_once(
    gateway: Live, caplog: pytest.LogCaptureFixture
) -> None:
    api = openai.OpenAI(base_url=gateway.url, api_key=gateway.key("log-errors"), max_retries=0)
    with caplog.at_level(logging.INFO, logger="airlock.access"):
        with pytest.raises(openai.NotFoundError) as missing:
            api.embeddings.create(model="not-admitted", input="x")
        stream = api.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "hi"}], max_tokens=3, stream=True
        )
        list(stream)
        httpx.get(f"{gateway.url}/models")  # no key: 401, no key name
        lines = access_lines(caplog, 3)
    assert len(lines) == 3, lines
    assert " POST /v1/embeddings 404 " in lines[0] and "model=not-admitted" in lines[0]
    assert f"request_id={missing.value.request_id}" in lines[0]
    assert (
        " POST /v1/chat/completions 200 " in lines[1] and "key=log-errors model=llama" in lines[1]
    )
    assert " GET /v1/models 401 " in lines[2] and "key=- model=-" in lines[2]


@pytest.fixture(scope="module")
def json_gateway(models: dict[str, Path]) -> Iterator[Live]:
    yield from serve(GatewayConfig(log_format="json"))


def test_json_line_per_request(json_gateway: Live, caplog: pytest.LogCaptureFixture) -> None:
    api = openai.OpenAI(base_url=json_gateway.url, api_key=json_gateway.key("log-json"))
    with caplog.at_level(logging.INFO, logger="airlock.access"):
        response = api.embeddings.with_raw_response.create(model="minilm", input="hello")
        [line] = access_lines(caplog, 1)
    record = json.loads(line)
    assert list(record) == FIELDS
    assert record["method"] == "POST" and record["path"] == "/v1/embeddings"
    assert record["status"] == 200 and record["key"] == "log-json" and record["model"] == "minilm"
    assert record["request_id"] == response.headers["x-request-id"]
    assert isinstance(record["latency_ms"], float) and record["latency_ms"] > 0
    assert record["time"].endswith("Z")


def test_unknown_route_is_404_not_found(gateway: Live) -> None:
    response = httpx.post(f"{gateway.url}/chat/completion", json={"model": "llama"})
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "message": "Unknown request URL: POST /v1/chat/completion.",
            "type": "invalid_request_error",
            "param": None,
            "code": "not_found",
        }
    }
    key = gateway.key("log-404")
    with pytest.raises(openai.NotFoundError) as error:
        openai.OpenAI(base_url=gateway.url, api_key=key, max_retries=0).files.list()
    assert error.value.code == "not_found"


def test_wrong_method_is_405(gateway: Live) -> None:
    response = httpx.get(f"{gateway.url}/chat/completions")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": {
            "message": "Method not allowed: GET /v1/chat/completions; this route accepts POST.",
            "type": "invalid_request_error",
            "param": None,
            "code": "method_not_allowed",
        }
    }


def test_real_server_log_has_lines_and_no_progress_bars(
    models: dict[str, Path], airlock_home: Path
) -> None:
    """`airlock serve --log-format json` in its own process: loading and serving three models
    leaves exactly one JSON line per request on stderr, and nothing else from the libraries'
    progress bars (transformers draws "Loading weights" per load unless told not to)."""
    registry = Registry()
    key = KeyStore(registry.engine).create("log-process", None, None)[0]
    registry.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(name, None)
    command = [sys.executable, "-c", "import sys; from airlock.cli import main; sys.exit(main())"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--log-format", "json", "--stock-kernels"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        api = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
        api.embeddings.create(model="minilm", input="hello")
        api.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "hi"}], max_tokens=2
        )
        headers = {"Authorization": f"Bearer {key}"}
        body = {"model": "rerank", "query": "fox", "documents": ["the quick brown fox"]}
        assert httpx.post(f"{base}/v1/rerank", json=body, headers=headers).status_code == 200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=60)
    lines = [line for line in stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(r["path"], r["status"], r["key"]) for r in records] == [
        ("/health", 200, None),
        ("/v1/embeddings", 200, "log-process"),
        ("/v1/chat/completions", 200, "log-process"),
        ("/v1/rerank", 200, "log-process"),
    ]
    assert "Loading weights" not in stderr and "it/s]" not in stderr and "\r" not in stderr
    assert "%|" not in stderr, stderr
