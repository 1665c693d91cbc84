"""Work that was given up stops, over HTTP against live gateways: after a 504 or a client that
goes away (mid-stream or while waiting for a whole answer) the model takes no more steps and the
process's CPU falls to idle; the next request is served; a stream that fails ends with an error
event; usage records the tokens really generated and the real status (504, 499, 500).

Steps are counted by a forward hook on each real model (plugged in through the manager's loader
seam); a tiny Llama with 8,192 positions generates 4,000 tokens in several seconds."""

from __future__ import annotations

import io
import json
import threading
import time
import wave
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.detect import load_engine
from airlock.gateway.engines.interface import Capability, Engine, Generation, GenerationStream
from airlock.registry.gateway_tables import UsageRecord

from . import tiny_models
from .conftest import Live, admit, serve

LONG = 4000  # tokens: several seconds of generation for the tiny model
STEPS: Counter[str] = Counter()  # forward passes per engine kind, over every gateway here
FAILING = "failing.json"


class Failing(Engine):
    """Streams two words, then fails as a broken model would (with a private path in it)."""

    capabilities = frozenset({Capability.CHAT, Capability.COMPLETIONS})

    def generate(self, request: Generation) -> GenerationStream:
        stream = GenerationStream(iter(()), prompt_tokens=3)

        def pieces() -> Iterator[str]:
            for word in ("one ", "two "):
                stream.completion_tokens += 1
                yield word
            raise RuntimeError("cannot read /tmp/private-copy-x/model.safetensors")

        stream.pieces = pieces()
        return stream

    def close(self) -> None:
        pass


def counting_loader(folder: Path) -> Engine:
    """The real engines, each model's forward passes counted (one per decoding step)."""
    if (folder / FAILING).exists():
        return Failing()
    engine = load_engine(folder, prepack=False)
    kind = type(engine).__name__
    engine._model.register_forward_hook(lambda *_: STEPS.update([kind]))  # type: ignore[attr-defined]
    return engine


@pytest.fixture(scope="module")
def admitted(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("cancel-models")
    admit(tiny_models.make_llama(root / "llama", context=8192), "c-llama")
    whisper = tiny_models.make_whisper(root / "whisper", root / "whisper-work", positions=448)
    admit(whisper, "c-whisper")
    failing = root / "failing"
    failing.mkdir()
    (failing / FAILING).write_text("{}")
    (failing / "model.safetensors").write_bytes(b"\0" * 64)
    (failing / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    admit(failing, "c-failing")


@pytest.fixture(scope="module")
def patient(admitted: None) -> Iterator[Live]:
    """Only the client can end a request early here."""
    yield from serve(GatewayConfig(request_timeout_s=120), loader=counting_loader)


@pytest.fixture(scope="module")
def hasty(admitted: None) -> Iterator[Live]:
    yield from serve(GatewayConfig(request_timeout_s=1.0), loader=counting_loader)


def chat(model: str = "c-llama", max_tokens: int = LONG, stream: bool = False) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hello world"}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    }


def key(live: Live, name: str) -> tuple[dict[str, str], int]:
    token, info = live.keys.create(name, None, None)
    return {"Authorization": f"Bearer {token}"}, info.id


def warm(live: Live, headers: dict[str, str]) -> None:
    """Load the model first: loading is not what these tests time."""
    body = chat(max_tokens=2)
    assert httpx.post(f"{live.url}/chat/completions", json=body, headers=headers).status_code == 200


def usage_rows(live: Live, key_id: int, count: int) -> list[UsageRecord]:
    """The key's usage rows once `count` are written (the writer batches for half a second)."""
    deadline = time.monotonic() + 10
    while True:
        with Session(live.registry.engine) as session:
            rows = list(session.scalars(select(UsageRecord).where(UsageRecord.key_id == key_id)))
        if len(rows) >= count or time.monotonic() > deadline:
            return sorted(rows, key=lambda r: r.id)
        time.sleep(0.1)


def is_text(event: str) -> bool:
    """A chunk with generated text (the first chunk of a chat stream has none)."""
    return '"content":"' in event and '"content":""' not in event


def settled(kind: str, quiet_s: float = 1.0, within_s: float = 10.0) -> int:
    """The step count once no step was taken for `quiet_s`; fails if steps go on."""
    deadline = time.monotonic() + within_s
    before = STEPS[kind]
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = STEPS[kind]
        if now == before:
            return now
        before = now
    raise AssertionError(f"{kind} still takes steps {within_s} s after the work was given up")


def cpu_seconds(window_s: float) -> float:
    """CPU time this process (the gateway's threads included) used over `window_s`."""
    start = time.process_time()
    time.sleep(window_s)
    return time.process_time() - start


def test_timeout_stops_the_generation_and_frees_the_model(hasty: Live) -> None:
    headers, key_id = key(hasty, "c-timeout")
    warm(hasty, headers)
    started = STEPS["CausalLM"]
    response = httpx.post(f"{hasty.url}/chat/completions", json=chat(), headers=headers, timeout=30)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "request_timeout"
    # Within a step of the 504 the model is idle: no more forward passes, the CPU near idle
    # (a generation going on would use a whole core over the window).
    stopped = STEPS["CausalLM"]
    assert cpu_seconds(1.5) < 0.5
    assert STEPS["CausalLM"] - stopped <= 2
    assert stopped - started < LONG
    # The model's slot is free: the next request is answered at once.
    begun = time.monotonic()
    response = httpx.post(
        f"{hasty.url}/chat/completions", json=chat(max_tokens=3), headers=headers, timeout=30
    )
    assert response.status_code == 200
    assert time.monotonic() - begun < 5
    warmup, timed_out, after = usage_rows(hasty, key_id, 3)
    assert timed_out.status == 504
    assert 0 < timed_out.completion_tokens < LONG  # what it had generated when it stopped
    assert timed_out.prompt_tokens == warmup.prompt_tokens > 0
    assert after.status == 200


def test_stream_timeout_ends_with_an_error_event_and_real_usage(hasty: Live) -> None:
    headers, key_id = key(hasty, "c-stream-timeout")
    warm(hasty, headers)
    url = f"{hasty.url}/chat/completions"
    with httpx.stream("POST", url, json=chat(stream=True), headers=headers, timeout=30) as r:
        assert r.status_code == 200
        events = [line.removeprefix("data: ") for line in r.iter_lines() if line]
    assert events[-1] != "[DONE]"
    assert json.loads(events[-1])["error"]["code"] == "request_timeout"
    sent = sum(1 for e in events[:-1] if json.loads(e)["choices"][0]["delta"].get("content"))
    settled("CausalLM")
    row = usage_rows(hasty, key_id, 2)[-1]
    assert row.status == 504
    assert sent <= row.completion_tokens < LONG


def test_dropped_stream_stops_the_generation(patient: Live) -> None:
    headers, key_id = key(patient, "c-drop-stream")
    warm(patient, headers)
    started = STEPS["CausalLM"]
    url = f"{patient.url}/chat/completions"
    received = 0
    with httpx.stream("POST", url, json=chat(stream=True), headers=headers, timeout=30) as r:
        for line in r.iter_lines():
            received += is_text(line)
            if received == 5:
                break  # leaving the block closes the connection mid-stream
    stopped = settled("CausalLM")
    assert stopped - started < LONG  # it would run to 4,000 tokens had it gone on
    row = usage_rows(patient, key_id, 2)[-1]
    assert row.status == 499  # client closed request
    assert received <= row.completion_tokens < LONG
    assert row.prompt_tokens > 0


def test_client_gone_before_a_whole_answer_stops_the_generation(patient: Live) -> None:
    headers, key_id = key(patient, "c-drop-whole")
    warm(patient, headers)
    started = STEPS["CausalLM"]
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
        httpx.post(f"{patient.url}/chat/completions", json=chat(), headers=headers, timeout=0.5)
    stopped = settled("CausalLM")
    assert 0 < stopped - started < LONG
    row = usage_rows(patient, key_id, 2)[-1]
    assert row.status == 499
    assert 0 < row.completion_tokens < LONG


def test_client_gone_while_waiting_for_the_model_frees_its_place(patient: Live) -> None:
    """A request queued behind a long generation whose client goes away leaves the queue at
    once (not when the model gets to it), and never runs."""
    headers, key_id = key(patient, "c-queued")
    warm(patient, headers)
    url = f"{patient.url}/chat/completions"
    with httpx.stream("POST", url, json=chat(stream=True), headers=headers, timeout=30) as long:
        lines = long.iter_lines()  # held: dropping the iterator would close the stream
        next(line for line in lines if is_text(line))  # the long one holds the model now
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url, json=chat(max_tokens=3), headers=headers, timeout=0.5)
        queued = usage_rows(patient, key_id, 2)[-1]
        generating = STEPS["CausalLM"]
        time.sleep(0.2)
        assert STEPS["CausalLM"] > generating  # the long one still runs: it was not waited for
    assert (queued.status, queued.prompt_tokens, queued.completion_tokens) == (499, 0, 0)


def test_failure_mid_stream_is_an_error_event(patient: Live) -> None:
    headers, key_id = key(patient, "c-failing")
    client = openai.OpenAI(
        base_url=patient.url, api_key=headers["Authorization"].split()[1], max_retries=0
    )
    stream = client.chat.completions.create(
        model="c-failing", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    words = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            words.append(chunk.choices[0].delta.content)
    assert words[1:] == ["one ", "two "]
    assert raised.value.message == "the model failed while generating; the answer is incomplete"
    assert raised.value.body == {
        "message": "the model failed while generating; the answer is incomplete",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }
    (row,) = usage_rows(patient, key_id, 1)
    assert (row.status, row.prompt_tokens, row.completion_tokens) == (500, 3, 2)


def wav(minutes: float, rate: int = 8000) -> bytes:
    """Noise: a random Whisper writes tokens for it until its limit."""
    samples = np.random.default_rng(0).integers(-3000, 3000, int(minutes * 60 * rate))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def test_transcription_stops_within_a_step_after_a_timeout(hasty: Live) -> None:
    headers, key_id = key(hasty, "c-whisper")
    url = f"{hasty.url}/audio/transcriptions"
    short = {"file": ("short.wav", wav(0.1), "audio/wav")}
    warmup = httpx.post(url, data={"model": "c-whisper"}, files=short, headers=headers)
    assert warmup.status_code in (200, 504)  # it loads the model; one window may take a second
    started = settled("WhisperEngine", quiet_s=0.3)
    # Twenty 30-second windows of up to 224 tokens: seconds of work, past the 1 s timeout.
    files = {"file": ("long.wav", wav(10), "audio/wav")}
    response = httpx.post(url, data={"model": "c-whisper"}, files=files, headers=headers)
    assert response.status_code == 504
    stopped = STEPS["WhisperEngine"]
    assert settled("WhisperEngine", quiet_s=0.5) - stopped <= 2
    assert stopped - started < 20 * 224
    assert usage_rows(hasty, key_id, 2)[-1].status == 504


def test_many_abandoned_requests_leave_the_gateway_idle(hasty: Live) -> None:
    """Eight clients time out at once: afterwards no model step runs and the queue is free."""
    headers, key_id = key(hasty, "c-many")
    warm(hasty, headers)
    statuses: list[int] = []

    def one() -> None:
        url = f"{hasty.url}/chat/completions"
        statuses.append(httpx.post(url, json=chat(), headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [504] * 8
    settled("CausalLM", quiet_s=0.5)
    assert cpu_seconds(1.0) < 0.4
    response = httpx.post(f"{hasty.url}/chat/completions", json=chat(max_tokens=3), headers=headers)
    assert response.status_code == 200
    assert sorted(r.status for r in usage_rows(hasty, key_id, 10)) == [200, 200] + [504] * 8
