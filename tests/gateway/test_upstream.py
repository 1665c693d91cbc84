"""Upstream engine: a front gateway proxies to a second gateway as it would to vLLM."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import openai
import pytest

from airlock.gateway.config import GatewayConfig, Upstream

from .conftest import Live, free_port, serve


@pytest.fixture(scope="module")
def front(gateway: Live) -> Iterator[Live]:
    back_key = gateway.key("front-gateway")
    upstreams = (
        Upstream("llama", gateway.url, back_key),
        Upstream("minilm", gateway.url, back_key),
        Upstream("whisper", gateway.url, back_key),
        Upstream("offline", f"http://127.0.0.1:{free_port()}/v1"),
    )
    yield from serve(GatewayConfig(upstreams=upstreams))


@pytest.fixture(scope="module")
def api(front: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=front.url, api_key=front.key("app"), max_retries=0)


def test_streaming_chat_through_upstream(api: openai.OpenAI, gateway: Live) -> None:
    messages = [{"role": "user", "content": "hello"}]
    stream = api.chat.completions.create(
        model="llama",
        messages=messages,  # type: ignore[arg-type]
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None
    direct = openai.OpenAI(base_url=gateway.url, api_key=gateway.key("direct"))
    whole = direct.chat.completions.create(
        model="llama",
        messages=messages,
        max_tokens=8,
        temperature=0,  # type: ignore[arg-type]
    )
    assert text == whole.choices[0].message.content


def test_embeddings_through_upstream(api: openai.OpenAI) -> None:
    result = api.embeddings.create(model="minilm", input=["one", "two"])
    assert np.array([d.embedding for d in result.data]).shape == (2, 384)
    assert result.usage.prompt_tokens > 0


def test_upstream_errors_are_relayed(api: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        api.embeddings.create(model="minilm", input=[])


def test_unreachable_upstream_is_502(api: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as error:
        api.embeddings.create(model="offline", input="x")
    assert error.value.status_code == 502


def test_transcription_through_upstream(api: openai.OpenAI, gateway: Live) -> None:
    from .test_audio import wav

    upload = ("tone.wav", wav(seconds=2), "audio/wav")
    direct = openai.OpenAI(base_url=gateway.url, api_key=gateway.key("direct-audio"))
    want = direct.audio.transcriptions.create(model="whisper", file=upload, language="en")
    got = api.audio.transcriptions.create(model="whisper", file=upload, language="en")
    assert got.text == want.text
    verbose = api.audio.transcriptions.create(
        model="whisper",
        file=upload,
        language="en",
        response_format="verbose_json",
        timestamp_granularities=["segment"],
    )
    assert verbose.text == want.text and verbose.duration == pytest.approx(2.0)
    with pytest.raises(openai.BadRequestError) as refused:  # a repeated form field, relayed as
        api.audio.transcriptions.create(  # is: the back sees "word" after "segment"
            model="whisper", file=upload, timestamp_granularities=["segment", "word"]
        )
    assert refused.value.param == "timestamp_granularities[]"
    assert 'does not support "word"' in refused.value.message
    translated = api.audio.translations.create(model="whisper", file=upload)
    assert translated.text == direct.audio.translations.create(model="whisper", file=upload).text
    with pytest.raises(openai.BadRequestError) as error:  # the upstream's own 400, relayed
        api.audio.transcriptions.create(model="whisper", file=upload, language="xx")
    assert error.value.param == "language"
