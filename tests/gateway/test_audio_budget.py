"""Big uploads in bounded memory: decoding never holds the whole audio (measured in a fresh
process), and the gateway's audio budget answers 429 while it is spent and 413 for an upload
that could never fit, over HTTP with concurrent uploads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from airlock.gateway.audio_budget import DECODE_BYTES
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import (
    Capability,
    Engine,
    Transcription,
    TranscriptionRequest,
    windows,
)

from .conftest import Live, serve
from .test_audio import wav

PATIENCE_S = 60.0
UPLOAD = wav(seconds=40, rate=16_000, channels=1)  # 1.2 MiB: two Whisper windows
# Room for one such upload at a time, not two.
BUDGET = DECODE_BYTES + len(UPLOAD) * 3 // 2


class GatedTranscriber(Engine):
    """Reads the audio window by window, as Whisper does, once the test opens the gate."""

    capabilities = frozenset({Capability.TRANSCRIPTION})

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()

    def transcribe(self, request: TranscriptionRequest) -> Transcription:
        self.entered.set()
        assert self.gate.wait(PATIENCE_S)
        samples = sum(len(window) for window in windows(request.audio, 30 * request.sample_rate))
        return Transcription("gated", "english", samples / request.sample_rate)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def engine() -> GatedTranscriber:
    return GatedTranscriber()


@pytest.fixture(scope="module")
def gateway(models: dict[str, Path], engine: GatedTranscriber) -> Iterator[Live]:
    config = GatewayConfig(audio_budget_bytes=BUDGET, request_timeout_s=PATIENCE_S)
    yield from serve(config, loader=lambda folder: engine)


def transcribe(live: Live, key: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{live.url}/audio/transcriptions",
        headers={"Authorization": f"Bearer {key}"},
        data={"model": "whisper", "response_format": "verbose_json"},
        files={"file": ("a.wav", data, "audio/wav")},
        timeout=PATIENCE_S,
    )


def test_spent_budget_is_429_until_the_upload_before_is_done(
    gateway: Live, engine: GatedTranscriber
) -> None:
    key = gateway.key("audio-budget")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(transcribe, gateway, key, UPLOAD)
        assert engine.entered.wait(PATIENCE_S)  # holding its share, at the model
        busy = transcribe(gateway, key, UPLOAD)
        engine.gate.set()
        done = first.result()
    assert busy.status_code == 429 and busy.headers["retry-after"] == "5"
    assert busy.json()["error"]["code"] == "audio_budget_busy"
    assert done.status_code == 200
    assert done.json()["duration"] == pytest.approx(40.0)  # every sample, decoded as read
    again = transcribe(gateway, key, UPLOAD)  # the share was given back
    assert again.status_code == 200 and again.json()["text"] == "gated"


def test_upload_beyond_the_whole_budget_is_413(gateway: Live) -> None:
    response = transcribe(
        gateway, gateway.key("audio-budget-413"), wav(seconds=80, rate=16_000, channels=1)
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and "audio budget" in error["message"]


MEASURE = textwrap.dedent(
    """
    import io, wave
    from pathlib import Path
    import numpy as np
    from airlock.gateway.audio import open_audio
    from airlock.gateway.engines.interface import windows

    def status(field):
        line = next(x for x in Path("/proc/self/status").read_text().splitlines()
                    if x.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    rate = 8000  # 25 MiB of 8-bit mono at 8 kHz: 54 minutes, 210 MB as 16 kHz float32
    second = (128 + 40 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.uint8)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        writer.writeframes(second.tobytes() * (int(24.9 * 2**20) // rate))
    data = buffer.getvalue()
    del buffer
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) from here on
    before = status("VmRSS")
    audio = open_audio(data, 7200)
    samples = sum(len(w) for w in windows(audio.blocks(), 30 * 16000))
    print(samples, audio.duration_s, status("VmHWM") - before)
    """
)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux's peak RSS reset")
def test_a_long_upload_decodes_in_bounded_memory() -> None:
    """It took 1.6 GB when the samples were resampled whole (and 2.4 GB at 4 kHz)."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=120, check=True
    )
    samples, seconds, grown = run.stdout.split()
    assert int(samples) == 3263 * 16_000 and float(seconds) == 3263.0
    assert int(grown) < 64 * 1024 * 1024  # measured: 10 MiB
