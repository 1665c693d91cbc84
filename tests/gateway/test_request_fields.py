"""Fields the embedded engines do not honour are a 400 naming the field (never ignored);
unknown fields are a 400 too; upstream models get every field relayed unchanged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from airlock.gateway.config import GatewayConfig, Upstream

from .conftest import Live, serve
from .test_access_log import access_lines

MESSAGES: Any = [{"role": "user", "content": "hello world"}]
TOOL: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.fixture(scope="module")
def api(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("fields"), max_retries=0)


UNSUPPORTED = "is not supported by this gateway's embedded models"


def said(error: pytest.ExceptionInfo[openai.APIStatusError]) -> str:
    """The error body's message as the gateway wrote it (the client prefixes its own)."""
    body = error.value.body
    assert isinstance(body, dict)
    return str(body["message"])


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"functions": [TOOL["function"]]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"logit_bias": {"5": 10}}, "logit_bias"),
    ],
)
def test_chat_unsupported_parameter(api: openai.OpenAI, extra: Any, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="llama", messages=MESSAGES, max_tokens=2, **extra)
    assert error.value.status_code == 400
    assert error.value.code == "unsupported_parameter"
    assert error.value.param == param
    assert f"Unsupported parameter: '{param}' {UNSUPPORTED}" in said(error)
    assert "--upstream" in said(error)


@pytest.mark.parametrize(
    ("extra", "param", "shown", "supported"),
    [
        ({"store": True}, "store", "true", "false"),
        ({"modalities": ["text", "audio"]}, "modalities", '["text", "audio"]', '["text"]'),
        ({"presence_penalty": 0.5}, "presence_penalty", "0.5", "0"),
        ({"service_tier": "flex"}, "service_tier", '"flex"', '"auto", "default"'),
    ],
)
def test_chat_unsupported_value(
    api: openai.OpenAI, extra: Any, param: str, shown: str, supported: str
) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="llama", messages=MESSAGES, max_tokens=2, **extra)
    assert error.value.code == "unsupported_value"
    assert error.value.param == param
    assert said(error) == (
        f"Unsupported value: '{param}' does not support {shown} on this gateway's embedded "
        f"models; supported: {supported}."
    )


def test_chat_defaults_and_bookkeeping_are_accepted(api: openai.OpenAI) -> None:
    """What LangChain and others send with every request: the API's defaults, user, metadata."""
    result = api.chat.completions.create(
        model="llama",
        messages=MESSAGES,
        max_tokens=2,
        n=1,
        logprobs=False,
        presence_penalty=0,
        frequency_penalty=0.0,
        store=False,
        user="u-1",
        metadata={"team": "search"},
        modalities=["text"],
        tools=None,  # the client leaves it out
    )
    assert result.choices[0].finish_reason in {"stop", "length"}


def test_json_schema_needs_its_schema(api: openai.OpenAI) -> None:
    schema: Any = {"type": "json_schema"}
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(
            model="llama", messages=MESSAGES, max_tokens=2, response_format=schema
        )
    assert error.value.param == "response_format.json_schema"
    assert said(error) == "response_format of type json_schema needs 'json_schema'"


def test_unknown_parameter(api: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(
            model="llama", messages=MESSAGES, max_tokens=2, extra_body={"temprature": 0.1}
        )
    assert error.value.code == "unknown_parameter"
    assert error.value.param == "temprature"
    assert said(error) == "Unknown parameter: 'temprature'."


def test_stream_options_fields(api: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(
            model="llama",
            messages=MESSAGES,
            max_tokens=2,
            stream=True,
            stream_options={"include_usage": True, "include_obfuscation": True},
        )
    assert error.value.code == "unsupported_parameter"
    assert error.value.param == "stream_options.include_obfuscation"
    with pytest.raises(openai.BadRequestError) as error:
        api.completions.create(
            model="llama", prompt="hi", max_tokens=2, stream_options={"include_usage": True}
        )
    assert error.value.param == "stream_options"
    assert said(error) == (
        "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    )


def test_messages_with_images_or_tool_turns(api: openai.OpenAI) -> None:
    image: Any = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        }
    ]
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="llama", messages=image, max_tokens=2)
    assert (error.value.code, error.value.param) == ("unsupported_value", "messages")
    assert 'messages[0].content[1] is of type "image_url"' in said(error)
    assert "read text parts only" in said(error)
    tool_turn: Any = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    # This model's template never reads tools: its tool turns would be dropped or garbled.
    for messages in (tool_turn, [*MESSAGES, tool_turn[2]]):
        with pytest.raises(openai.BadRequestError) as error:
            api.chat.completions.create(model="llama", messages=messages, max_tokens=2)
        assert error.value.param == "messages"
        assert "chat template does not render tools" in said(error)
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(
            model="llama", messages=[*MESSAGES, {"role": "tool", "content": "42"}]
        )
    assert "messages[1] has role 'tool' but no 'tool_call_id'" in said(error)


@pytest.mark.parametrize(
    ("extra", "code", "param"),
    [
        ({"suffix": "end"}, "unsupported_parameter", "suffix"),
        ({"best_of": 3}, "unsupported_value", "best_of"),
        ({"logit_bias": {"5": 1}}, "unsupported_parameter", "logit_bias"),
    ],
)
def test_completions_fields(api: openai.OpenAI, extra: Any, code: str, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        api.completions.create(model="llama", prompt="hello", max_tokens=2, **extra)
    assert (error.value.status_code, error.value.code, error.value.param) == (400, code, param)


def test_completions_echo_and_defaults_accepted(api: openai.OpenAI) -> None:
    result = api.completions.create(
        model="llama", prompt="hello", max_tokens=2, echo=True, best_of=1, n=1, user="u"
    )
    assert result.choices[0].text.startswith("hello")


def test_embeddings_and_rerank_fields(api: openai.OpenAI, gateway: Live) -> None:
    with pytest.raises(openai.BadRequestError) as error:
        api.embeddings.create(model="minilm", input="x", extra_body={"truncate": "END"})
    assert (error.value.code, error.value.param) == ("unknown_parameter", "truncate")
    assert api.embeddings.create(model="minilm", input="x", user="u").data
    headers = {"Authorization": f"Bearer {gateway.key('rerank-fields')}"}
    body = {"model": "rerank", "query": "q", "documents": ["a"], "max_tokens_per_doc": 100}
    response = httpx.post(f"{gateway.url}/rerank", json=body, headers=headers)
    assert response.status_code == 400
    error_body = response.json()["error"]
    assert (error_body["code"], error_body["param"]) == (
        "unsupported_parameter",
        "max_tokens_per_doc",
    )


@pytest.fixture(scope="module")
def front(gateway: Live) -> Iterator[Live]:
    upstreams = (Upstream("llama", gateway.url, gateway.key("relay-back")),)
    yield from serve(GatewayConfig(upstreams=upstreams))


def test_upstream_gets_fields_unchanged(front: Live, caplog: pytest.LogCaptureFixture) -> None:
    """The front gateway does not judge fields for an upstream model: it relays `tools` and `n`;
    the back (an Airlock gateway here, vLLM in production) answers."""
    api = openai.OpenAI(base_url=front.url, api_key=front.key("relay-app"), max_retries=0)
    with caplog.at_level(logging.INFO, logger="airlock.access"):
        with pytest.raises(openai.BadRequestError) as error:
            api.chat.completions.create(
                model="llama", messages=MESSAGES, max_tokens=2, tools=[TOOL], n=2
            )
        lines = access_lines(caplog, 2)
    assert error.value.param in {"tools", "n"}
    back = [line for line in lines if "key=relay-back " in line]
    assert back and " 400 " in back[0], lines  # the back saw the request: it was relayed


@pytest.mark.parametrize(
    ("extra", "code", "param"),
    [
        ({"timestamp_granularities": ["word"]}, "unsupported_value", "timestamp_granularities[]"),
        ({"include": ["logprobs"]}, "unsupported_parameter", "include[]"),
        ({"chunking_strategy": "auto"}, "unsupported_parameter", "chunking_strategy"),
        ({"extra_body": {"diarize": "true"}}, "unknown_parameter", "diarize"),
    ],
)
def test_transcription_form_fields(api: openai.OpenAI, extra: Any, code: str, param: str) -> None:
    from .test_audio import wav

    tone = ("tone.wav", wav(seconds=1), "audio/wav")
    with pytest.raises(openai.BadRequestError) as error:
        api.audio.transcriptions.create(model="whisper", file=tone, **extra)
    assert (error.value.code, error.value.param) == (code, param)
    assert param in said(error)
    segments = api.audio.transcriptions.create(
        model="whisper", file=tone, timestamp_granularities=["segment"], response_format="json"
    )
    assert isinstance(segments.text, str)


def test_translation_has_no_language_field(api: openai.OpenAI) -> None:
    from .test_audio import wav

    tone = ("tone.wav", wav(seconds=1), "audio/wav")
    with pytest.raises(openai.BadRequestError) as error:
        api.audio.translations.create(model="whisper", file=tone, extra_body={"language": "fr"})
    assert (error.value.code, error.value.param) == ("unknown_parameter", "language")
