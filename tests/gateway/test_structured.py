"""Structured output and tools through a live gateway, with the clients people use: the openai
SDK (tools, streamed tool calls, parse with a Pydantic model), LangChain (with_structured_output
in both methods, bind_tools) and instructor. The model is a tiny random-weight Llama with a
Hermes-style chat template that renders tools: whatever its weights prefer, every answer must
validate against its schema (several seeds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
from pydantic import BaseModel
from transformers import AutoTokenizer

from airlock.gateway.config import GatewayConfig, Upstream

from . import tiny_models
from .conftest import Live, admit, serve

HERMES_TEMPLATE = (
    "{%- if tools %}<|system|>You may call these tools:\n"
    "{%- for t in tools %}\n{{ t | tojson }}{% endfor %}\n"
    'Call one as <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call></s>{% endif %}'
    "{%- for m in messages %}"
    "{%- if m['role'] == 'assistant' and m.get('tool_calls') %}<|assistant|>"
    "{%- for c in m['tool_calls'] %}<tool_call>\n"
    "{{ {'name': c['function']['name'], 'arguments': c['function']['arguments']} | tojson }}"
    "\n</tool_call>{% endfor %}</s>"
    "{%- elif m['role'] == 'tool' %}<|user|><tool_response>{{ m['content'] }}</tool_response></s>"
    "{%- else %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endif %}"
    "{%- endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SEEDS = [0, 1, 2, 3]
WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
TIME: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string"}, "hours": {"type": "integer"}},
            "required": ["zone", "hours"],
            "additionalProperties": False,
        },
    },
}
SCHEMAS = {
    "get_weather": WEATHER["function"]["parameters"],
    "get_time": TIME["function"]["parameters"],
}
ASK = [{"role": "user", "content": "what is the weather in paris?"}]


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Person(BaseModel):
    name: str
    age: int
    colour: Colour
    tags: list[str]


@pytest.fixture(scope="module")
def live(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tiny_models.make_llama(tmp_path_factory.mktemp("hermes") / "hermes", context=4096)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = HERMES_TEMPLATE
    tokenizer.save_pretrained(folder)
    admit(folder, "hermes")
    yield from serve(GatewayConfig(max_request_bytes=64 * 1024, request_timeout_s=120))


@pytest.fixture(scope="module")
def client(live: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.url, api_key=live.key("structured-test"), max_retries=0)


def check_calls(calls: Any) -> None:
    assert calls, "no tool call"
    for call in calls:
        assert call.type == "function" and call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


@pytest.mark.parametrize("seed", SEEDS)
def test_required_tool_call_is_valid(client: openai.OpenAI, seed: int) -> None:
    result = client.chat.completions.create(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER, TIME],  # type: ignore[list-item]
        tool_choice="required",
        seed=seed,
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    check_calls(choice.message.tool_calls)


@pytest.mark.parametrize("seed", SEEDS)
def test_named_tool_choice_calls_that_function_once(client: openai.OpenAI, seed: int) -> None:
    result = client.chat.completions.create(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER, TIME],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        seed=seed,
    )
    calls = result.choices[0].message.tool_calls
    check_calls(calls)
    assert calls is not None and [c.function.name for c in calls] == ["get_time"]  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", SEEDS)
def test_auto_answers_in_text_or_valid_calls(client: openai.OpenAI, seed: int) -> None:
    result = client.chat.completions.create(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        seed=seed,
        max_tokens=200,
    )
    choice = result.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
        check_calls(choice.message.tool_calls)
    else:
        assert choice.message.content and not choice.message.content.startswith("<")


def test_tool_choice_none_answers_in_text(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        max_tokens=8,
    )
    assert result.choices[0].message.tool_calls is None


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_streamed_tool_calls_assemble_in_the_sdk(client: openai.OpenAI, seed: int) -> None:
    with client.chat.completions.stream(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER, TIME],  # type: ignore[list-item]
        tool_choice="required",
        seed=seed,
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    check_calls(final.choices[0].message.tool_calls)


def test_a_tool_round_trip_renders_through_the_template(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required",
        seed=0,
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    second = client.chat.completions.create(
        model="hermes",
        messages=[
            *ASK,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 degrees"},
        ],  # type: ignore[list-item]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        max_tokens=8,
    )
    assert second.choices[0].message.content is not None


def test_tools_for_a_template_without_tools_is_a_400(live: Live) -> None:
    client = openai.OpenAI(base_url=live.url, api_key=live.key("no-tools"), max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="llama",
            messages=ASK,  # type: ignore[arg-type]
            tools=[WEATHER],  # type: ignore[list-item]
        )
    assert "chat template does not render tools" in caught.value.message
    assert caught.value.body["param"] == "tools"  # type: ignore[index]


def test_tool_choice_naming_an_unknown_function_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="not in 'tools'"):
        client.chat.completions.create(
            model="hermes",
            messages=ASK,  # type: ignore[arg-type]
            tools=[WEATHER],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_parse_with_a_pydantic_model(client: openai.OpenAI, seed: int) -> None:
    result = client.chat.completions.parse(
        model="hermes",
        messages=[{"role": "user", "content": "Ada, 36, likes red"}],
        response_format=Person,
        seed=seed,
    )
    parsed = result.choices[0].message.parsed
    assert isinstance(parsed, Person), result.choices[0].message.content


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_streamed_json_schema_validates(client: openai.OpenAI, seed: int) -> None:
    schema = Person.model_json_schema()
    stream = client.chat.completions.create(
        model="hermes",
        messages=[{"role": "user", "content": "Ada, 36"}],
        response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
        seed=seed,
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    Person.model_validate_json(text)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_structured_output(live: Live, method: str) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="hermes",
        base_url=live.url,
        api_key=live.key(f"langchain-{method}"),
        max_retries=0,
        seed=1,
    )
    result = llm.with_structured_output(Person, method=method).invoke("Ada, 36, likes red")  # type: ignore[arg-type]
    assert isinstance(result, Person)


def test_langchain_bind_tools(live: Live) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model="hermes",
        base_url=live.url,
        api_key=live.key("langchain-tools"),
        max_retries=0,
        seed=2,
    )
    message = llm.bind_tools([WEATHER], tool_choice="required").invoke("weather in paris?")
    assert message.tool_calls and message.tool_calls[0]["name"] == "get_weather"  # type: ignore[attr-defined]
    jsonschema.validate(message.tool_calls[0]["args"], SCHEMAS["get_weather"])  # type: ignore[attr-defined]


def test_instructor_default_mode(client: openai.OpenAI) -> None:
    import instructor

    patched = instructor.from_openai(client)  # default mode: TOOLS
    person = patched.chat.completions.create(
        model="hermes",
        response_model=Person,
        messages=[{"role": "user", "content": "Ada, 36, likes red"}],
        max_retries=0,
        seed=3,
    )
    assert isinstance(person, Person)


# The Responses API.

RESPONSES_WEATHER: dict[str, Any] = {"type": "function", **WEATHER["function"]}


def test_responses_create_with_a_string(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="hermes", input="hello there", max_output_tokens=5, store=False
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text and response.output[0].type == "message"
    assert response.usage is not None and response.usage.output_tokens == 5


def test_responses_messages_and_instructions_reach_the_template(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="hermes",
        instructions="be brief",
        input=[
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
            {"role": "user", "content": [{"type": "input_text", "text": "and?"}]},
        ],
        max_output_tokens=3,
    )
    assert response.usage is not None
    # the template writes each turn: more prompt tokens than the last message alone
    assert response.usage.input_tokens > 20
    assert response.instructions == "be brief"


def test_responses_stream_accumulates_in_the_sdk(client: openai.OpenAI) -> None:
    with client.responses.stream(model="hermes", input="hello", max_output_tokens=12) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    # cut by max_output_tokens: OpenAI's last event then is response.incomplete
    final = events[-1]
    assert final.type == "response.incomplete"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert final.response.output_text == deltas != ""
    for kind in (
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ):
        assert kind in kinds


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_responses_function_tools(client: openai.OpenAI, seed: int) -> None:
    response = client.responses.create(
        model="hermes",
        input="weather in paris?",
        tools=[RESPONSES_WEATHER],  # type: ignore[list-item]
        tool_choice="required",
        temperature=1.0,
        top_p=0.9 + seed / 100,
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls and response.status == "completed"
    for call in calls:
        assert call.name == "get_weather"
        jsonschema.validate(json.loads(call.arguments), SCHEMAS["get_weather"])
    follow_up = client.responses.create(
        model="hermes",
        input=[
            {"role": "user", "content": "weather in paris?"},
            *[c.model_dump(exclude_none=True) for c in calls],  # type: ignore[misc]
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
        ],
        tools=[RESPONSES_WEATHER],  # type: ignore[list-item]
        tool_choice="none",
        max_output_tokens=3,
    )
    assert follow_up.output[0].type == "message"


def test_responses_stream_function_call(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="hermes",
        input="weather in paris?",
        tools=[RESPONSES_WEATHER],  # type: ignore[list-item]
        tool_choice="required",
    ) as stream:
        final = stream.get_final_response()
    calls = [item for item in final.output if item.type == "function_call"]
    assert calls
    jsonschema.validate(json.loads(calls[0].arguments), SCHEMAS["get_weather"])


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_responses_parse_with_a_pydantic_model(client: openai.OpenAI, seed: int) -> None:
    response = client.responses.parse(
        model="hermes", input="Ada, 36", text_format=Person, top_p=0.9 + seed / 100
    )
    assert isinstance(response.output_parsed, Person)


def test_responses_are_not_stored(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="does not store responses") as caught:
        client.responses.create(model="hermes", input="hi", previous_response_id="resp_1")
    assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="send store: false"):
        client.responses.create(model="hermes", input="hi", store=True)


def test_responses_refuse_what_they_do_not_honour(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="hermes", input="hi", text={"verbosity": "low"})
    assert caught.value.body["param"] == "text.verbosity"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="hermes", input="hi", reasoning={"effort": "low"})
    assert caught.value.body["code"] == "unsupported_parameter"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError, match="input\\[0\\] is of type"):
        client.responses.create(
            model="hermes",
            input=[{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}],  # type: ignore[list-item]
        )


@pytest.fixture(scope="module")
def front(live: Live) -> Iterator[Live]:
    """A gateway relaying `hermes` to the one above, as it would to vLLM."""
    upstream = Upstream("hermes", live.url, live.key("structured-front"))
    yield from serve(GatewayConfig(upstreams=(upstream,)))


def test_upstream_models_get_tools_and_responses_relayed(front: Live) -> None:
    api = openai.OpenAI(base_url=front.url, api_key=front.key("structured-app"), max_retries=0)
    result = api.chat.completions.create(
        model="hermes",
        messages=ASK,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required",
    )
    check_calls(result.choices[0].message.tool_calls)
    response = api.responses.create(
        model="hermes",
        input="weather?",
        tools=[RESPONSES_WEATHER],  # type: ignore[list-item]
        tool_choice="required",
    )
    assert response.output[0].type == "function_call"


def test_n_choices_each_valid(client: openai.OpenAI) -> None:
    result = client.chat.completions.parse(
        model="hermes",
        messages=[{"role": "user", "content": "Ada, 36"}],
        response_format=Person,
        n=3,
        seed=7,
    )
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert all(isinstance(c.message.parsed, Person) for c in result.choices)
    assert len({c.message.content for c in result.choices}) > 1  # seeds 7, 8, 9
    assert result.usage is not None
    assert result.usage.completion_tokens > result.choices[0].message.content.count(",")  # type: ignore[union-attr]


def test_n_completions_and_no_streamed_n(client: openai.OpenAI) -> None:
    result = client.completions.create(model="hermes", prompt="hi", max_tokens=3, n=2)
    assert [c.index for c in result.choices] == [0, 1]
    assert result.usage is not None and result.usage.completion_tokens == 6
    with pytest.raises(openai.BadRequestError, match="'n' above 1 is not supported with"):
        client.chat.completions.create(
            model="hermes",
            messages=ASK,
            n=2,
            stream=True,  # type: ignore[arg-type]
        )


def test_chat_logprobs(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="hermes",
        messages=ASK,
        max_tokens=6,
        logprobs=True,
        top_logprobs=3,
        seed=1,  # type: ignore[arg-type]
    )
    choice = result.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    entries = choice.logprobs.content
    assert "".join(e.token for e in entries) == choice.message.content
    for entry in entries:
        assert entry.logprob <= 0 and entry.bytes == list(entry.token.encode())
        alternatives = [t.logprob for t in entry.top_logprobs]
        assert len(alternatives) == 3 and alternatives == sorted(alternatives, reverse=True)
        assert entry.logprob <= alternatives[0]
    with pytest.raises(openai.BadRequestError, match="'logprobs' is not supported with"):
        client.chat.completions.create(
            model="hermes",
            messages=ASK,
            logprobs=True,
            stream=True,  # type: ignore[arg-type]
        )


def test_completions_logprobs(client: openai.OpenAI) -> None:
    result = client.completions.create(
        model="hermes", prompt="hello", max_tokens=5, logprobs=2, temperature=0
    )
    logprobs = result.choices[0].logprobs
    assert logprobs is not None and logprobs.tokens is not None
    assert "".join(logprobs.tokens) == result.choices[0].text
    assert logprobs.text_offset == [
        sum(len(t) for t in logprobs.tokens[:i]) for i in range(len(logprobs.tokens))
    ]
    # greedy: each chosen token is the most likely one
    assert logprobs.top_logprobs is not None and logprobs.token_logprobs is not None
    for chosen, top in zip(logprobs.token_logprobs, logprobs.top_logprobs, strict=True):
        assert len(top) <= 2 and chosen == pytest.approx(max(top.values()))
