"""Chat and completions with a tiny Llama (random weights): streaming, usage, stop, seed."""

from __future__ import annotations

import openai
import pytest

from .conftest import Live

MESSAGES = [{"role": "user", "content": "hello world"}]


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("chat-test"))


def test_chat_non_stream(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,
        max_tokens=8,
        temperature=0,  # type: ignore[arg-type]
    )
    choice = result.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.finish_reason in {"stop", "length"}
    assert result.usage is not None
    assert result.usage.prompt_tokens > 0
    assert 0 < result.usage.completion_tokens <= 8


def test_chat_stream_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finals[-1] in {"stop", "length"}
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    whole = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,
        max_tokens=12,
        temperature=0,  # type: ignore[arg-type]
    )
    assert text == whole.choices[0].message.content  # greedy: same text streamed or not


def test_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def sample() -> str | None:
        result = client.chat.completions.create(
            model="llama",
            messages=MESSAGES,  # type: ignore[arg-type]
            max_tokens=10,
            temperature=1.0,
            top_p=0.9,
            seed=7,
        )
        return result.choices[0].message.content

    assert sample() == sample()


def test_stop_sequence_cuts_output(client: openai.OpenAI) -> None:
    free = client.completions.create(
        model="llama", prompt="the quick", max_tokens=16, temperature=0
    )
    text = free.choices[0].text
    if len(text) < 3:
        pytest.skip("the random model ended at once")
    stop = text[1:3]
    cut = client.completions.create(
        model="llama", prompt="the quick", max_tokens=16, temperature=0, stop=[stop]
    )
    assert cut.choices[0].text == text[: text.find(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_completions_stream(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model="llama", prompt="hello", max_tokens=6, temperature=0, stream=True
    )
    pieces = [c.choices[0].text for c in stream if c.choices]
    whole = client.completions.create(model="llama", prompt="hello", max_tokens=6, temperature=0)
    assert "".join(pieces) == whole.choices[0].text
    assert whole.usage is not None
    assert whole.usage.completion_tokens == 6 or whole.choices[0].finish_reason == "stop"


def test_json_mode_accepted(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=4,
        response_format={"type": "json_object"},
    )
    assert result.usage is not None and result.usage.prompt_tokens > 0


def test_embedding_model_does_not_chat(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="minilm", messages=MESSAGES)  # type: ignore[arg-type]
