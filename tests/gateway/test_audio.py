"""POST /v1/audio/transcriptions with a tiny Whisper on a generated WAV (no ffmpeg)."""

from __future__ import annotations

import io
import wave

import numpy as np
import openai
import pytest

from airlock.gateway.audio import decode_wav

from .conftest import Live


def wav(seconds: float = 1.0, rate: int = 8000, channels: int = 2) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(np.repeat(tone, channels).tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("audio-test"), max_retries=0)


def test_decode_resamples_to_16k_mono() -> None:
    samples = decode_wav(wav(seconds=0.5, rate=8000, channels=2))
    assert samples.dtype == np.float32 and samples.shape == (8000,)
    assert 0.25 < float(np.abs(samples).max()) < 0.35


def test_transcription_formats(client: openai.OpenAI) -> None:
    audio = ("tone.wav", wav(), "audio/wav")
    as_json = client.audio.transcriptions.create(model="whisper", file=audio)
    assert isinstance(as_json.text, str)
    as_text = client.audio.transcriptions.create(
        model="whisper", file=audio, response_format="text"
    )
    assert as_text == as_json.text
    verbose = client.audio.transcriptions.create(
        model="whisper", file=audio, response_format="verbose_json"
    )
    assert verbose.text == as_json.text
    assert verbose.duration == pytest.approx(1.0)


def test_non_wav_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.transcriptions.create(
            model="whisper", file=("a.mp3", b"ID3\x03" + b"\x00" * 100, "audio/mpeg")
        )
    assert "WAV" in error.value.message


def test_text_model_does_not_transcribe(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.audio.transcriptions.create(model="minilm", file=("tone.wav", wav(), "audio/wav"))
