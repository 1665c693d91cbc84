"""POST /v1/audio/transcriptions with a tiny Whisper, on audio generated and encoded in the test
(WAV with the stdlib, every other format with PyAV)."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import numpy.typing as npt
import openai
import pytest

from airlock.gateway import audio
from airlock.gateway.audio import TARGET_RATE, detect_container, open_audio
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.hf_whisper import WhisperEngine
from airlock.gateway.engines.interface import EngineError, TranscriptionRequest
from airlock.gateway.errors import BadRequest, TooLarge

from . import tiny_models
from .conftest import Live, serve

MAX_SECONDS = 40.0  # the gateway's max_audio_seconds here: above 30 s, so two windows fit
FREQUENCY = 440.0


def wav(seconds: float = 1.0, rate: int = 8000, channels: int = 2) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * FREQUENCY * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(np.repeat(tone, channels).tobytes())
    return buffer.getvalue()


def encoded(
    muxer: str,
    codec: str,
    rate: int,
    seconds: float = 1.0,
    layout: str = "mono",
    options: dict[str, str] | None = None,
) -> bytes:
    """A FREQUENCY tone encoded by ffmpeg (PyAV converts to the codec's sample format)."""
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * FREQUENCY * t)).astype(np.float32)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer, container_options=options or {}) as out:
        stream: Any = out.add_stream(codec, rate=rate, layout=layout)
        channels = len(stream.codec_context.layout.channels)
        step = stream.codec_context.frame_size or 1024
        for start in range(0, tone.size, step):
            chunk = np.tile(tone[start : start + step], (channels, 1))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def decode_audio(data: bytes, max_seconds: float) -> npt.NDArray[np.float32]:
    """All of an upload's samples, read block by block as the engine reads them."""
    audio = open_audio(data, max_seconds)
    samples = np.concatenate(list(audio.blocks()))
    assert audio.duration_s == pytest.approx(samples.size / TARGET_RATE, abs=0.05)
    return samples


def peak_hz(samples: npt.NDArray[np.float32]) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum)) * TARGET_RATE / samples.size


# (name, muxer, codec, input rate, layout, the demuxer detection must pick)
FORMATS = [
    ("mp3", "mp3", "libmp3lame", 44_100, "stereo", "mp3"),
    ("flac", "flac", "flac", 44_100, "mono", "flac"),
    ("ogg", "ogg", "libopus", 48_000, "stereo", "ogg"),
    ("m4a", "ipod", "aac", 44_100, "mono", "mp4"),
    ("webm", "webm", "libopus", 48_000, "mono", "matroska"),
    ("float.wav", "wav", "pcm_f32le", 22_050, "stereo", "wav"),
    ("mpeg", "mpeg", "mp2", 44_100, "mono", "mpeg"),
]


@pytest.fixture(scope="module")
def gateway(models: dict[str, Path]) -> Iterator[Live]:
    """The conftest gateway with a short max_audio_seconds, so that 413 is cheap to reach."""
    yield from serve(GatewayConfig(request_timeout_s=60, max_audio_seconds=MAX_SECONDS))


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("audio-test"), max_retries=0)


def test_decode_resamples_to_16k_mono() -> None:
    samples = decode_audio(wav(seconds=0.5, rate=8000, channels=2), MAX_SECONDS)
    assert samples.dtype == np.float32 and samples.shape == (8000,)
    assert 0.25 < float(np.abs(samples).max()) < 0.35


@pytest.mark.parametrize(("name", "muxer", "codec", "rate", "layout", "demuxer"), FORMATS)
def test_decode_every_format(
    name: str,
    muxer: str,
    codec: str,
    rate: int,
    layout: str,
    demuxer: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = encoded(muxer, codec, rate, layout=layout)
    opened: list[dict[str, Any]] = []
    real_open = av.open

    def spy(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(audio.av, "open", spy)
    samples = decode_audio(data, MAX_SECONDS)
    assert samples.dtype == np.float32 and samples.ndim == 1
    # Encoder priming and padding (aac, mp2) add a few tens of milliseconds at most.
    assert samples.size / TARGET_RATE == pytest.approx(1.0, abs=0.05)
    assert peak_hz(samples) == pytest.approx(FREQUENCY, abs=3)
    # 0.3 mono; stereo is mixed down as `ffmpeg -ac 1` does (each channel at -3 dB): 0.42.
    assert 0.28 < float(np.abs(samples).max()) < (0.32 if layout == "mono" else 0.45)
    # ffmpeg is told the container and may open no protocol: it never probes the upload
    # (opened twice: once to check and count, once to decode as the samples are read).
    assert [(o["format"], o["container_options"]) for o in opened] == [
        (demuxer, {"protocol_whitelist": "none"})
    ] * 2


def test_mp3_without_id3_tag_is_found_by_frame_sync() -> None:
    bare = encoded("mp3", "libmp3lame", 44_100, options={"id3v2_version": "0"})
    assert bare[:1] == b"\xff" and detect_container(bare) == "mp3"
    # ADTS AAC shares the sync bits but not the layer: not mp3, and not a format we accept.
    adts = encoded("adts", "aac", 44_100)
    assert adts[:1] == b"\xff" and detect_container(adts) is None


def test_decode_follows_rate_and_layout_changes() -> None:
    """Joined mp3 files: 44.1 kHz mono, then 22.05 kHz stereo (one resampler per setup)."""
    first = encoded("mp3", "libmp3lame", 44_100)
    second = encoded("mp3", "libmp3lame", 22_050, layout="stereo", options={"id3v2_version": "0"})
    samples = decode_audio(first + second, MAX_SECONDS)
    assert samples.size / TARGET_RATE == pytest.approx(2.0, abs=0.15)
    assert peak_hz(samples) == pytest.approx(FREQUENCY, abs=3)


def test_too_long_is_refused_before_resampling() -> None:
    long_flac = encoded("flac", "flac", 8000, seconds=MAX_SECONDS + 1)
    with pytest.raises(TooLarge, match="longer than 40 seconds"):
        decode_audio(long_flac, MAX_SECONDS)
    with pytest.raises(TooLarge):
        decode_audio(pcm_wav(bytes(41_000), rate=1000), MAX_SECONDS)


def pcm_wav(frames: bytes, rate: int, width: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return buffer.getvalue()


@pytest.mark.parametrize("rate", [1, 999, 768_001, 4_000_000_000])
def test_rates_no_audio_is_recorded_at_are_400(rate: int) -> None:
    """A tiny declared rate would resample each sample to thousands (1 Hz: 100 samples to 1.6 M
    at once); a huge one makes the resampler's filter grow (and overflows PyAV's C int):
    refused before resampling."""
    with pytest.raises(BadRequest, match="sample rate") as error:
        decode_audio(pcm_wav(bytes(100), rate=rate), MAX_SECONDS)
    assert error.value.param == "file"


PLAYLISTS = [
    b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{path}\n#EXT-X-ENDLIST\n",
    b"ffconcat version 1.0\nfile '{path}'\n",
]


@pytest.mark.parametrize("template", PLAYLISTS, ids=["hls", "ffconcat"])
def test_playlists_never_reach_ffmpeg(
    template: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "real.wav"
    target.write_bytes(wav())
    playlist = template.replace(b"{path}", str(target).encode())

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("ffmpeg was handed a playlist")

    monkeypatch.setattr(audio.av, "open", refuse)
    assert detect_container(playlist) is None
    with pytest.raises(BadRequest, match="supported format") as error:
        decode_audio(playlist, MAX_SECONDS)
    assert error.value.param == "file"


def test_file_without_audio_is_400() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream: Any = out.add_stream("mpeg4", rate=1)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        picture = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    with pytest.raises(BadRequest, match="no audio stream"):
        decode_audio(buffer.getvalue(), MAX_SECONDS)


def test_transcription_formats(client: openai.OpenAI) -> None:
    tone = ("tone.wav", wav(seconds=35), "audio/wav")
    as_json = client.audio.transcriptions.create(model="whisper", file=tone)
    assert as_json.text
    as_text = client.audio.transcriptions.create(model="whisper", file=tone, response_format="text")
    assert as_text == as_json.text
    verbose = client.audio.transcriptions.create(
        model="whisper", file=tone, response_format="verbose_json"
    )
    assert verbose.text == as_json.text
    assert verbose.duration == pytest.approx(35.0)
    segments = verbose.segments or []
    assert [(s.id, s.seek, s.start, s.end) for s in segments] == [
        (0, 0, 0.0, 30.0),
        (1, 3000, 30.0, 35.0),
    ]
    assert " ".join(s.text for s in segments) == as_json.text
    for segment in segments:
        assert segment.tokens and segment.temperature == 0.0
        assert segment.avg_logprob < 0 and segment.compression_ratio > 0
    srt = client.audio.transcriptions.create(model="whisper", file=tone, response_format="srt")
    assert srt.startswith(f"1\n00:00:00,000 --> 00:00:30,000\n{segments[0].text}\n\n2\n")
    assert "00:00:30,000 --> 00:00:35,000" in srt
    vtt = client.audio.transcriptions.create(model="whisper", file=tone, response_format="vtt")
    assert vtt.startswith(f"WEBVTT\n\n00:00:00.000 --> 00:00:30.000\n{segments[0].text}\n\n")
    assert vtt.endswith(f"00:00:30.000 --> 00:00:35.000\n{segments[1].text}\n\n")


@pytest.mark.parametrize(
    ("name", "muxer", "codec", "rate"),
    [("a.mp3", "mp3", "libmp3lame", 44_100), ("a.webm", "webm", "libopus", 48_000)],
)
def test_compressed_audio_transcribes(
    client: openai.OpenAI, name: str, muxer: str, codec: str, rate: int
) -> None:
    data = encoded(muxer, codec, rate, seconds=2.0)
    result = client.audio.transcriptions.create(
        model="whisper",
        file=(name, data, "application/octet-stream"),
        response_format="verbose_json",
    )
    assert result.duration == pytest.approx(2.0, abs=0.05)
    assert result.text


def test_language_prompt_and_temperature(client: openai.OpenAI) -> None:
    tone = ("tone.wav", wav(), "audio/wav")

    def verbose(**options: Any) -> Any:
        return client.audio.transcriptions.create(
            model="whisper", file=tone, response_format="verbose_json", **options
        )

    greedy = verbose(language="en")
    assert greedy.language == "english"
    french = verbose(language="FR")
    assert french.language == "french"
    assert french.text != greedy.text  # the language token is forced, not only reported
    # The prompt conditions the decoder; a temperature above 0 samples.
    assert verbose(language="en", prompt="hello world").text != greedy.text
    sampled = verbose(language="en", temperature=0.7)
    assert sampled.text != greedy.text
    assert {s.temperature for s in sampled.segments or []} == {0.7}
    for options, param in [
        ({"language": "xx"}, "language"),
        ({"prompt": "say <|endoftext|>"}, "prompt"),
        ({"temperature": 1.5}, "temperature"),
    ]:
        with pytest.raises(openai.BadRequestError) as error:
            client.audio.transcriptions.create(model="whisper", file=tone, **options)
        assert error.value.param == param


def test_english_only_model(tmp_path: Path) -> None:
    folder = tiny_models.make_whisper(tmp_path / "en", tmp_path / "work", multilingual=False)
    engine = WhisperEngine(folder)
    tone = decode_audio(wav(), MAX_SECONDS)
    assert engine.transcribe(TranscriptionRequest(tone, TARGET_RATE)).language == "english"
    assert engine.transcribe(TranscriptionRequest(tone, TARGET_RATE, "en")).language == "english"
    with pytest.raises(EngineError, match="English only") as error:
        engine.transcribe(TranscriptionRequest(tone, TARGET_RATE, "fr"))
    assert error.value.param == "language"


def test_translations_endpoint(client: openai.OpenAI) -> None:
    tone = ("tone.wav", wav(seconds=2), "audio/wav")
    plain = client.audio.translations.create(model="whisper", file=tone)
    assert plain.text
    verbose = client.audio.translations.create(
        model="whisper", file=tone, response_format="verbose_json"
    )
    assert verbose.text == plain.text
    assert verbose.model_extra is not None and verbose.model_extra["task"] == "translate"
    assert verbose.language == "english"  # what the text is written in
    text = client.audio.translations.create(model="whisper", file=tone, response_format="text")
    assert text == plain.text


def test_translate_task_reaches_whisper(models: dict[str, Path], monkeypatch: Any) -> None:
    engine = WhisperEngine(models["whisper"])
    seen: list[dict[str, Any]] = []
    real = engine._generate

    def spy(features: Any, options: dict[str, Any]) -> Any:
        seen.append(dict(options))
        return real(features, options)

    monkeypatch.setattr(engine, "_generate", spy)
    tone = decode_audio(wav(), MAX_SECONDS)
    result = engine.transcribe(TranscriptionRequest(tone, TARGET_RATE, "fr", translate=True))
    assert seen[0]["task"] == "translate" and seen[0]["language"] == "fr"
    assert result.language == "english"
    engine.transcribe(TranscriptionRequest(tone, TARGET_RATE, "fr"))
    assert seen[1]["task"] == "transcribe"


def test_english_only_model_cannot_translate(tmp_path: Path) -> None:
    folder = tiny_models.make_whisper(tmp_path / "en", tmp_path / "work", multilingual=False)
    tone = decode_audio(wav(), MAX_SECONDS)
    with pytest.raises(EngineError, match="cannot translate") as error:
        WhisperEngine(folder).transcribe(TranscriptionRequest(tone, TARGET_RATE, translate=True))
    assert error.value.param == "model"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some text, not audio" * 4, "not audio in a supported format"),
        (b"#EXTM3U\n#EXTINF:10,\n/etc/hostname\n#EXT-X-ENDLIST\n", "not audio"),
        (encoded("mp3", "libmp3lame", 44_100)[:200], "could not decode the audio as mp3"),
        (b"ID3\x03" + b"\x00" * 100, "could not decode the audio as mp3"),
    ],
    ids=["text", "hls", "truncated-mp3", "empty-id3"],
)
def test_unreadable_audio_is_400(client: openai.OpenAI, data: bytes, message: str) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.audio.transcriptions.create(model="whisper", file=("a.mp3", data, "audio/mpeg"))
    assert message in error.value.message
    assert "flac, m4a, mp3, mp4, mpeg, mpga, ogg, wav, webm" in error.value.message
    assert error.value.param == "file"


def test_too_long_audio_is_413(gateway: Live) -> None:
    response = httpx.post(
        f"{gateway.url}/audio/transcriptions",
        headers={"Authorization": f"Bearer {gateway.key('audio-413')}"},
        data={"model": "whisper"},
        files={"file": ("long.wav", wav(seconds=MAX_SECONDS + 1, channels=1), "audio/wav")},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_text_model_does_not_transcribe(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.audio.transcriptions.create(model="minilm", file=("tone.wav", wav(), "audio/wav"))
