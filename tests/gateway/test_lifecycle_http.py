"""Lifecycle over HTTP: 504 request timeout, 503 memory budget, 429 and integrity refusals on
streaming requests, and the swap to a newly admitted version. The models run on a scripted engine
plugged in through the manager's loader seam, so timing is deterministic and no torch runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from airlock.gateway import registry_catalog
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import Capability, Engine, Generation, GenerationStream

from .conftest import Live, admit, serve

SCRIPT = "engine.json"
TIMEOUT_S = 1.0
BUDGET = 10_000  # bytes of weights


class Scripted(Engine):
    """Replies the words of its script, then the folder it was loaded from (the private copy),
    one word every `delay` seconds; stops early when the request is cancelled."""

    capabilities = frozenset({Capability.CHAT, Capability.COMPLETIONS})

    def __init__(self, folder: Path) -> None:
        script = json.loads((folder / SCRIPT).read_text())
        self.words = [*str(script["reply"]).split(), str(folder)]
        self.delay = float(script.get("delay", 0.0))

    def generate(self, request: Generation) -> GenerationStream:
        stream = GenerationStream(iter(()), prompt_tokens=1)

        def pieces() -> Iterator[str]:
            for word in self.words:
                if request.cancel.wait(self.delay):
                    return
                stream.completion_tokens += 1
                yield word + " "

        stream.pieces = pieces()
        return stream

    def close(self) -> None:
        pass


def make(root: Path, name: str, reply: str, delay: float = 0.0, weights: int = 64) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / SCRIPT).write_text(json.dumps({"reply": reply, "delay": delay}))
    (folder / "model.safetensors").write_bytes(b"\0" * weights)
    # What admission needs to record an engine (a causal LM); the scripted loader replaces it.
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    return folder


@pytest.fixture(scope="module")
def live(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("scripted")
    admit(make(root, "slow", "one two three four five six seven eight", delay=0.25), "s-slow")
    admit(make(root, "fast", "hello there"), "s-fast")
    admit(make(root, "big", "never", weights=BUDGET * 2), "s-big")
    tampered = make(root, "tampered", "never")
    admit(tampered, "s-tampered")
    (tampered / SCRIPT).write_text(json.dumps({"reply": "changed after admission"}))
    config = GatewayConfig(request_timeout_s=TIMEOUT_S, memory_budget_bytes=BUDGET, queue_size=1)
    yield from serve(config, loader=Scripted)


def chat(model: str, stream: bool = False) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}


def auth(live: Live, name: str, rpm: int | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.key(name, rpm=rpm)}"}


def events(response: httpx.Response) -> list[str]:
    return [line.removeprefix("data: ") for line in response.iter_lines() if line]


def test_slow_request_is_504(live: Live) -> None:
    started = time.monotonic()
    response = httpx.post(
        f"{live.url}/chat/completions", json=chat("s-slow"), headers=auth(live, "t504"), timeout=30
    )
    assert time.monotonic() - started < TIMEOUT_S + 2
    assert response.status_code == 504
    assert response.json() == {
        "error": {
            "message": "the request took longer than 1 s",
            "type": "timeout_error",
            "param": None,
            "code": "request_timeout",
        }
    }


def test_slow_stream_ends_with_a_timeout_error(live: Live) -> None:
    body = chat("s-slow", stream=True)
    headers = auth(live, "t504s")
    with httpx.stream("POST", f"{live.url}/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200  # the headers went out before the timeout
        data = events(r)
    assert "[DONE]" not in data
    words = [json.loads(d)["choices"][0]["delta"].get("content") for d in data[1:-1]]
    assert 1 <= len(words) < 8 and words[0] == "one "  # cut off mid-generation
    assert json.loads(data[-1])["error"]["code"] == "request_timeout"


def test_model_over_the_memory_budget_is_503(live: Live) -> None:
    response = httpx.post(
        f"{live.url}/chat/completions", json=chat("s-big"), headers=auth(live, "t503")
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "memory_budget_exceeded" and error["type"] == "model_load_error"
    assert "more than the memory budget" in error["message"]
    health = httpx.get(f"{live.url.removesuffix('/v1')}/health", headers=auth(live, "t503h"))
    assert "s-big" not in health.json()["loaded"]


def test_full_queue_refuses_a_stream_with_429(live: Live) -> None:
    headers = auth(live, "t429q")
    url = f"{live.url}/chat/completions"
    with httpx.stream("POST", url, json=chat("s-slow", stream=True), headers=headers) as first:
        lines = first.iter_lines()  # kept: a dropped iterator closes the response
        next(lines)  # the first request now holds the model's only queue slot
        second = httpx.post(url, json=chat("s-slow", stream=True), headers=headers)
        last = [line for line in lines if line][-1]  # the first stream ran to its own timeout
        assert json.loads(last.removeprefix("data: "))["error"]["code"] == "request_timeout"
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert second.headers["content-type"].startswith("application/json")
    assert second.json()["error"]["code"] == "model_queue_full"


def test_over_rate_stream_is_429(live: Live) -> None:
    headers = auth(live, "t429r", rpm=1)
    url = f"{live.url}/chat/completions"
    with httpx.stream("POST", url, json=chat("s-fast", stream=True), headers=headers) as first:
        assert first.status_code == 200 and events(first)[-1] == "[DONE]"
    second = httpx.post(url, json=chat("s-fast", stream=True), headers=headers)
    assert second.status_code == 429
    assert 1 <= int(second.headers["Retry-After"]) <= 60
    error = second.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "rate_limit_error"


def test_modified_model_refuses_a_stream_with_503(live: Live) -> None:
    api = openai.OpenAI(base_url=live.url, api_key=live.key("t503i"), max_retries=0)
    with pytest.raises(openai.APIStatusError) as error:
        api.chat.completions.create(
            model="s-tampered", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert error.value.status_code == 503
    assert error.value.code == "model_integrity_mismatch"
    assert f"{SCRIPT} does not match its admitted hash" in error.value.message


def test_new_version_replaces_the_loaded_one(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_catalog, "CACHE_S", 0.0)  # see each admit at once
    api = openai.OpenAI(base_url=live.url, api_key=live.key("tswap"), max_retries=0)

    def reply() -> list[str]:
        answer = api.completions.create(model="s-swap", prompt="hi")
        return answer.choices[0].text.split()

    admit(make(tmp_path, "v1", "first version"), "s-swap")
    first = reply()
    assert first[:2] == ["first", "version"] and Path(first[-1]).is_dir()
    admit(make(tmp_path, "v2", "second version"), "s-swap")
    second = reply()
    assert second[:2] == ["second", "version"]  # served from v2 although v1 was loaded
    assert second[-1] != first[-1] and Path(second[-1]).is_dir()
    assert not Path(first[-1]).exists()  # v1's private copy went with it
    health = httpx.get(f"{live.url.removesuffix('/v1')}/health", headers=auth(live, "tswaph"))
    assert health.json()["loaded"].count("s-swap") == 1
