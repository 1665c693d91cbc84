"""JSON mode: constrained decoding (engines/grammar.py) through a live gateway with the tiny
random-weight Llama (which emits garbage unless decoding is constrained)."""

from __future__ import annotations

import json

import openai
import pytest

from .conftest import Live


@pytest.fixture(scope="module")
def client(gateway: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url, api_key=gateway.key("json-test"))


MESSAGES = [{"role": "user", "content": "the quick brown fox as json"}]


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_json_object_non_stream(client: openai.OpenAI, temperature: float) -> None:
    result = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=96,
        temperature=temperature,
        top_p=0.9,
        seed=11,
        response_format={"type": "json_object"},
    )
    content = result.choices[0].message.content
    assert content is not None
    assert isinstance(json.loads(content), dict), content


def test_json_object_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=96,
        temperature=1.0,
        seed=5,
        stream=True,
        response_format={"type": "json_object"},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert isinstance(json.loads(text), dict), text


def test_json_object_closes_within_a_small_budget(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="llama",
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=6,
        temperature=1.0,
        seed=3,
        response_format={"type": "json_object"},
    )
    content = result.choices[0].message.content
    assert content is not None and isinstance(json.loads(content), dict), content
    assert result.choices[0].finish_reason == "stop"
