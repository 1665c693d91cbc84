"""JSON mode: the JSON-prefix validator, and constrained decoding through a live gateway with the
tiny random-weight Llama (which emits garbage unless decoding is constrained)."""

from __future__ import annotations

import json

import openai
import pytest

from airlock.gateway.engines.json_prefix import JsonPrefix

from .conftest import Live

VALID = [
    "{}",
    ' { "k" : [ ] } ',
    '{"a":1,"b":[1,2.5e-3,-0,1E+2,-12.75],"c":{"d":[true,false,null,[{}]]}}',
    r'{"s":"q\" b\\ s\/ \b\f\n\r\t \u00e9\uD83D\uDE00 é"}',
]
INVALID = [
    "[]",  # json_object: the top level must be an object
    '"x"',
    "1",
    "{,",
    '{"a"}',
    '{"a":01}',
    '{"a":1.}',
    '{"a":-}',
    '{"a":1e}',
    '{"a":tru}',
    '{"a":nul1}',
    r'{"a":"\x"}',
    r'{"a":"\u12g4"}',
    '{"a":1]',
    "{}}",
    '{"a":"\x01"}',  # raw control characters must be escaped
    "{'a':1}",
    '{"a":1,}',
]


def read(text: str) -> JsonPrefix | None:
    state = JsonPrefix()
    return state if state.feed(text) else None


@pytest.mark.parametrize("text", VALID)
def test_every_prefix_of_valid_json_is_accepted(text: str) -> None:
    for end in range(len(text)):
        state = read(text[:end])
        assert state is not None, text[:end]
        assert not state.complete or not text[end:].strip()
        # the shortest closing text always completes the prefix into a JSON object
        assert isinstance(json.loads(text[:end] + state.closing()), dict)
    whole = read(text)
    assert whole is not None and whole.complete


@pytest.mark.parametrize("text", INVALID)
def test_invalid_json_is_refused(text: str) -> None:
    state = read(text)
    assert state is None or not state.complete


def test_accepts_does_not_change_the_state() -> None:
    state = read('{"n": 12')
    assert state is not None
    assert state.accepts("3.5}") and state.accepts(", ") and not state.accepts("x")
    assert not state.accepts("]")
    assert state.feed("}") and state.complete
    assert state.accepts("  \n") and not state.accepts(",")


def test_completion_and_nesting() -> None:
    state = read('{"a": [{"b": ')
    assert state is not None and not state.complete
    assert state.closing() == "0}]}"
    assert state.feed('"x"}]') and not state.complete
    assert state.feed("}") and state.complete


def test_numbers_end_only_at_a_delimiter() -> None:
    assert read('{"a":-0.5e+10 }') is not None
    assert read('{"a":00') is None
    assert read('{"a":1.5.') is None
    assert read('{"a":1e5e') is None


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
