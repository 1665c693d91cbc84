"""POST /v1/chat/completions: the model's chat template; SSE streaming with
`stream_options.include_usage`; stop, max_tokens, temperature, top_p, seed; response_format
(json_object, json_schema) and tools, enforced by constrained decoding (engines/grammar.py)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.engines.interface import Generation, JsonOutput, TokenLogprob, ToolUse
from airlock.gateway.engines.tool_calls import OPEN, split_calls
from airlock.gateway.errors import BadRequest, UnsupportedValue
from airlock.gateway.fields import check_messages, check_sampling
from airlock.gateway.protocol import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatLogprobs,
    ChatMessage,
    ChatTokenLogprob,
    FunctionCall,
    ResponseFormat,
    ToolCall,
    ToolCallDelta,
    TopLogprob,
    Usage,
)
from airlock.gateway.routes.generation import (
    ChunkShape,
    choices,
    kept_logprobs,
    logprobs_setting,
    sampling,
    streamed,
    wholes,
)
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])

# JSON output is asked for in the prompt (so the model means it) and enforced by the grammar.
_JSON_INSTRUCTION = "Respond with a single JSON object and nothing else."
_SCHEMA_INSTRUCTION = "Respond with a single JSON object matching this JSON schema:\n{}"


# The route's name is the endpoint label of errors answered before `begin` (state.finish_error).
@router.post("/v1/chat/completions", name="chat")
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    call = await begin(request, body.model, "chat")
    gateway = call.gateway
    check_texts(body)  # before a tokenizer, a batch or an upstream sees them
    if gateway.upstream.serves(body.model):
        return await relay(call, "/chat/completions", await request.json())
    check_sampling(body, "chat")
    check_messages(body.messages)
    messages = [template_message(m) for m in body.messages]
    tools = tool_use(body)
    output = json_output(body.response_format)
    if tools is not None and output is not None:
        raise BadRequest(
            "send either 'tools' or a JSON 'response_format', not both: the embedded models "
            "enforce one grammar per answer",
            param="response_format",
        )
    if output is not None:
        messages.insert(0, {"role": "system", "content": instruction(output)})
    gen = Generation(
        messages=messages,
        logprobs=logprobs_setting(body.stream, body.logprobs, body.top_logprobs),
        tools=[t.model_dump(exclude_none=True) for t in body.tools or []] if tools else None,
        constraint=tools or output,
        **sampling(body, gateway.config.max_tokens_limit),
    )
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    head = {"id": ident, "created": created, "model": body.model}
    if body.stream:
        if body.n > 1:
            raise UnsupportedValue(
                "Unsupported value: 'n' above 1 is not supported with 'stream' on this "
                "gateway's embedded models; send n: 1, or leave out stream.",
                param="n",
            )
        return await streamed(request, call, body, gen, head, chunks(tools is not None))
    made = await wholes(request, call, body.model, body.stops(), choices(gen, body.n))
    answers = []
    for index, (text, outcome) in enumerate(made):
        message, reason = assistant_message(text, tools is not None, outcome.finish_reason)
        answers.append(
            ChatChoice(
                index=index,
                message=message,
                finish_reason=reason,
                logprobs=chat_logprobs(kept_logprobs(outcome.logprobs, text))
                if body.logprobs
                else None,
            )
        )
    prompt = made[0][1].prompt_tokens
    completion_tokens = sum(outcome.completion_tokens for _, outcome in made)
    completion = ChatCompletion(
        id=ident,
        created=created,
        model=body.model,
        choices=answers,
        usage=Usage(
            prompt_tokens=prompt,
            completion_tokens=completion_tokens,
            total_tokens=prompt + completion_tokens,
        ),
    )
    return JSONResponse(completion.model_dump(mode="json"))


def chat_logprobs(logprobs: list[TokenLogprob]) -> ChatLogprobs:
    return ChatLogprobs(
        content=[
            ChatTokenLogprob(
                token=entry.token,
                logprob=entry.logprob,
                bytes=list(entry.token.encode()),
                top_logprobs=[
                    TopLogprob(token=token, logprob=logprob, bytes=list(token.encode()))
                    for token, logprob in entry.top
                ],
            )
            for entry in logprobs
        ]
    )


def tool_use(body: ChatCompletionRequest) -> ToolUse | None:
    """What the grammar must allow for the request's tools; None when no call may be made."""
    choice = body.tool_choice
    if not body.tools:
        if choice is not None and choice != "none":
            raise BadRequest("'tool_choice' needs 'tools'", param="tool_choice")
        return None
    if choice == "none":
        return None
    functions = tuple(t.function.model_dump(exclude_none=True) for t in body.tools)
    if choice is None or isinstance(choice, str):
        return ToolUse(functions, choice or "auto", body.parallel_tool_calls)
    names = [f["name"] for f in functions]
    if choice.function.name not in names:
        raise BadRequest(
            f"tool_choice names function '{choice.function.name}', which is not in 'tools' "
            f"({', '.join(names)})",
            param="tool_choice",
        )
    return ToolUse(functions, choice.function.name, parallel=False)


def json_output(response_format: ResponseFormat | None) -> JsonOutput | None:
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        return JsonOutput({"type": "object"})
    if response_format.json_schema is None:
        raise BadRequest(
            "response_format of type json_schema needs 'json_schema'",
            param="response_format.json_schema",
        )
    return JsonOutput(response_format.json_schema.json_schema)


def instruction(output: JsonOutput) -> str:
    if output.schema == {"type": "object"}:
        return _JSON_INSTRUCTION
    return _SCHEMA_INSTRUCTION.format(json.dumps(output.schema))


def template_message(message: ChatMessage) -> dict[str, Any]:
    """A turn as chat templates read it: role, text and, when given, the speaker's name, the
    calls an assistant made (arguments as an object: Hermes, Qwen and Llama templates write
    them out with tojson) and the call a tool turn answers."""
    turn: dict[str, Any] = {"role": message.role, "content": message.text()}
    if message.name:
        turn["name"] = message.name
    if message.tool_calls:
        turn["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": _arguments(c.function)},
            }
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        turn["tool_call_id"] = message.tool_call_id
    return turn


def _arguments(function: FunctionCall) -> Any:
    try:
        return json.loads(function.arguments)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"a tool call's arguments are not JSON: {exc}", param="messages") from exc


def tool_calls(text: str) -> list[ToolCall] | None:
    """The calls of an answer that makes calls, with fresh ids; None for a text answer."""
    calls = split_calls(text)
    if calls is None:
        return None
    return [
        ToolCall(
            id=f"call_{uuid.uuid4().hex[:24]}",
            function=FunctionCall(name=c.name, arguments=c.arguments),
        )
        for c in calls
    ]


def assistant_message(
    text: str, tools: bool, finish_reason: str
) -> tuple[ChatCompletionMessage, str]:
    calls = tool_calls(text) if tools else None
    if calls is None:
        return ChatCompletionMessage(content=text), finish_reason
    reason = "tool_calls" if finish_reason == "stop" else finish_reason
    return ChatCompletionMessage(content=None, tool_calls=calls), reason


def _delta(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}


def chunks(tools: bool) -> ChunkShape:
    """Text streams as it comes; with tools, an answer that starts with a call (the grammar
    lets only calls start with '<') is held back and each call sent once complete, as one
    `delta.tool_calls` entry with its id, name and arguments (the openai client joins the
    entries of a stream by index)."""
    held: list[str] = []
    state = {"calls": False, "sent": 0}

    def piece(text: str) -> list[dict[str, Any]]:
        if tools and not held and not state["calls"] and text.startswith(OPEN[0]):
            state["calls"] = True
        if not state["calls"]:
            return [_delta({"content": text})]
        held.append(text)
        calls = tool_calls("".join(held)) or []
        new = calls[state["sent"] :]
        deltas = [
            _delta({"tool_calls": [ToolCallDelta(index=i, **c.model_dump()).model_dump()]})
            for i, c in enumerate(new, start=state["sent"])
        ]
        state["sent"] = len(calls)
        return deltas

    def closing(finish_reason: str) -> list[dict[str, Any]]:
        reason = "tool_calls" if state["sent"] and finish_reason == "stop" else finish_reason
        return [_delta({}, reason)]

    return ChunkShape(
        object="chat.completion.chunk",
        opening=_delta({"role": "assistant", "content": ""}),
        piece=piece,
        closing=closing,
    )
