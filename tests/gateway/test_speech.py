"""POST /v1/audio/speech with a tiny random VITS (an MMS-TTS layout) made in the test, admitted
with `airlock admit` and called with the openai client; the audio is decoded with PyAV."""

from __future__ import annotations

import io
import json
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import openai
import pytest

from airlock import engine_choice
from airlock.gateway.config import GatewayConfig, Upstream
from airlock.gateway.engines.interface import Cancelled, CancelToken, SpeechRequest
from airlock.gateway.engines.vits_speech import MAX_CHUNK_CHARS, VitsSpeech, sentences
from airlock.gateway.speech_audio import PCM_RATE, encode

from . import tiny_media
from .conftest import Live, admit, serve

TEXT = "hello there. how are you today? fine!"


@pytest.fixture(scope="module")
def voice(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("speech")
    folder = tiny_media.make_vits(root / "tiny-vits")
    admit(folder, "tiny-vits")
    # The same voice with a tokenizer that phonemizes: it needs the phonemizer package and the
    # espeak-ng program. Admitted before the gateway starts (its catalog caches for 2 s).
    phonemized = root / "phonemized"
    shutil.copytree(folder, phonemized)
    config_file = phonemized / "tokenizer_config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "phonemize": True}))
    admit(phonemized, "phonemized")
    return folder


@pytest.fixture(scope="module")
def gateway(voice: Path) -> Iterator[Live]:
    yield from serve(GatewayConfig(request_timeout_s=60))


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("speech"), max_retries=0)


def decoded(data: bytes) -> tuple[int, int]:
    """(sample rate, samples) of an encoded file."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return stream.rate, sum(frame.samples for frame in container.decode(stream))


def test_the_vits_folder_is_served_as_speech(voice: Path) -> None:
    assert engine_choice.choose_engine(voice).engine == engine_choice.SPEECH


@pytest.mark.parametrize(
    ("fmt", "rate"),
    [
        ("mp3", tiny_media.SPEECH_RATE),
        ("aac", tiny_media.SPEECH_RATE),
        ("flac", tiny_media.SPEECH_RATE),
        ("wav", tiny_media.SPEECH_RATE),
        ("opus", 48000),  # Opus is decoded at 48 kHz whatever rate it was encoded from
    ],
)
def test_each_format_decodes(client: openai.OpenAI, tmp_path: Path, fmt: Any, rate: int) -> None:
    saved = tmp_path / f"speech.{fmt}"
    with client.audio.speech.with_streaming_response.create(
        model="tiny-vits", voice="alloy", input=TEXT, response_format=fmt
    ) as response:
        response.stream_to_file(saved)
    found_rate, samples = decoded(saved.read_bytes())
    assert found_rate == rate
    assert samples > 0.1 * rate  # three sentences of random-weight speech: well over 0.1 s


def test_pcm_is_24k_16_bit(client: openai.OpenAI) -> None:
    wav = client.audio.speech.create(
        model="tiny-vits", voice="echo", input=TEXT, response_format="wav"
    ).read()
    pcm = client.audio.speech.create(
        model="tiny-vits", voice="echo", input=TEXT, response_format="pcm"
    ).read()
    assert len(pcm) % 2 == 0 and len(pcm) > 0
    # The same speech length (VITS is stochastic, so the wav's is only close) at 24 kHz.
    wav_seconds = (len(wav) - 44) / 2 / tiny_media.SPEECH_RATE
    assert len(pcm) / 2 / PCM_RATE == pytest.approx(wav_seconds, rel=0.5)


def test_streamed_wav_header_says_unknown_length(client: openai.OpenAI) -> None:
    data = client.audio.speech.create(
        model="tiny-vits", voice="alloy", input="one.", response_format="wav"
    ).read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    channels, rate, _, _, bits = struct.unpack("<HIIHH", data[22:36])
    assert (channels, rate, bits) == (1, tiny_media.SPEECH_RATE, 16)


def test_speed_changes_the_length(client: openai.OpenAI) -> None:
    def seconds(speed: float) -> float:
        data = client.audio.speech.create(
            model="tiny-vits", voice="alloy", input=TEXT, response_format="wav", speed=speed
        ).read()
        return (len(data) - 44) / 2 / tiny_media.SPEECH_RATE

    assert seconds(0.5) > 1.5 * seconds(2.0)


def test_audio_is_encoded_a_block_at_a_time() -> None:
    """Each sentence's audio is handed on when it is spoken, before the next one exists."""
    made: list[int] = []
    t = np.arange(tiny_media.SPEECH_RATE // 2) / tiny_media.SPEECH_RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)

    def blocks() -> Iterator[Any]:
        for i in range(3):
            made.append(i)
            yield tone

    for fmt in ("mp3", "opus", "aac", "flac", "wav", "pcm"):
        made.clear()
        # (blocks made when the piece came out, the piece)
        pieces = [(len(made), p) for p in encode(fmt, tiny_media.SPEECH_RATE, blocks())]
        before_second = sum(len(p) for n, p in pieces if n == 1)
        assert before_second > 100, fmt  # audio, not only a header


def test_sentences_end_at_cjk_stops_without_a_space() -> None:
    bang = "\uff01"  # FULLWIDTH EXCLAMATION MARK
    text = f"你好。再见{bang}Fine. Next\nline"
    assert sentences(text) == ["你好。", f"再见{bang}", "Fine.", "Next", "line"]


class StopAfter(CancelToken):
    """Set once `checks` checks have passed: as if the timeout fell there."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self.left = checks

    def check(self) -> None:
        self.left -= 1
        if self.left < 0:
            self.set()
        super().check()


def test_a_given_up_request_stops_before_the_next_sentence(voice: Path) -> None:
    engine = VitsSpeech(voice)
    try:
        spoken = engine.speak(SpeechRequest(TEXT, "alloy", cancel=StopAfter(1)))
        blocks = []
        with pytest.raises(Cancelled):
            for block in spoken.blocks:
                blocks.append(block)
        assert len(blocks) == 1 and len(sentences(TEXT)) == 3
    finally:
        engine.close()


def test_long_sentences_are_cut_at_spaces() -> None:
    text = "word " * 200 + "end. Next one!"
    parts = sentences(text)
    assert all(len(p) <= MAX_CHUNK_CHARS for p in parts)
    assert parts[-1] == "Next one!"
    assert " ".join(parts).split() == text.split()


def bad(client: openai.OpenAI, **fields: Any) -> openai.BadRequestError:
    body = {"model": "tiny-vits", "input": "hello.", "voice": "alloy", **fields}
    with pytest.raises(openai.BadRequestError) as error:
        client.post("/audio/speech", body=body, cast_to=bytes)
    return error.value


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": "  \n "}, "input"),
        ({"input": "a" * 10_000}, "input"),
        ({"input": "日本語"}, "input"),  # no character of the voice's vocabulary
        ({"voice": "nobody"}, "voice"),
        ({"voice": "speaker_1"}, "voice"),  # a single-speaker model
        ({"voice": {"id": "voice_1234"}}, "voice"),
        ({"response_format": "ogg"}, "response_format"),
        ({"speed": 5}, "speed"),
        ({"instructions": "whisper it"}, "instructions"),
        ({"stream_format": "sse"}, "stream_format"),
    ],
)
def test_bad_requests_name_the_field(
    client: openai.OpenAI, fields: dict[str, Any], param: str
) -> None:
    assert bad(client, **fields).param == param


def test_unknown_voice_says_which_voices(client: openai.OpenAI) -> None:
    assert "alloy" in bad(client, voice="nobody").message


def test_image_model_route_refuses_a_voice(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        client.images.generate(model="tiny-vits", prompt="a cat")
    assert error.value.param == "model"


def test_a_phonemizing_voice_is_refused_at_load(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as error:
        client.audio.speech.create(model="phonemized", voice="alloy", input="hello.")
    assert error.value.status_code == 503 and "espeak-ng" in error.value.message


def test_speech_body_has_the_json_limit_not_the_upload_one(gateway: Live) -> None:
    body = {"model": "tiny-vits", "voice": "alloy", "input": "a" * (3 * 1024 * 1024)}
    answer = httpx.post(
        f"{gateway.url}/audio/speech",
        json=body,
        headers={"Authorization": f"Bearer {gateway.key('speech-limit')}"},
    )
    assert answer.status_code == 413


@pytest.fixture(scope="module")
def front(gateway: Live) -> Iterator[Live]:
    """A second gateway that relays tiny-vits to the first, as it would to an upstream server."""
    upstreams = (Upstream("tiny-vits", gateway.url, gateway.key("speech-front")),)
    yield from serve(GatewayConfig(upstreams=upstreams))


def test_speech_through_an_upstream(front: Live) -> None:
    relayed = openai.OpenAI(base_url=front.url, api_key=front.key("speech-app"), max_retries=0)
    audio = relayed.audio.speech.create(
        model="tiny-vits", voice="nova", input=TEXT, response_format="flac"
    ).read()
    rate, samples = decoded(audio)
    assert rate == tiny_media.SPEECH_RATE and samples > 0
    with pytest.raises(openai.BadRequestError) as error:  # the upstream's 400, relayed
        relayed.audio.speech.create(model="tiny-vits", voice="nobody", input="hi.")
    assert error.value.param == "voice"
