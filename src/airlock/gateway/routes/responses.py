"""POST /v1/responses: OpenAI's Responses API over the same generation as chat, stateless.

Input (a string, or message, function_call and function_call_output items) becomes chat turns
for the model's template; `instructions` a system turn first; function tools and `text.format`
(json_object, json_schema) are enforced by the grammar as in chat. Streaming sends the events
the openai client's `responses.stream` accumulates: response.created, response.in_progress,
then per output item output_item.added, content_part.added, output_text.delta ... done events
(function_call_arguments.delta/done for a call), and response.completed (response.incomplete
when max_output_tokens cut it). Nothing is stored: `store: true` and `previous_response_id`
are refused with the reason.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.engines.interface import Generation, JsonOutput, ToolUse
from airlock.gateway.engines.tool_calls import OPEN
from airlock.gateway.errors import (
    BadRequest,
    GatewayError,
    UnsupportedParameter,
    UnsupportedValue,
)
from airlock.gateway.fields import check_fields
from airlock.gateway.protocol import (
    FunctionCallItem,
    OutputMessage,
    OutputText,
    ResponseObject,
    ResponsesRequest,
    ResponseUsage,
)
from airlock.gateway.routes.chat import instruction, tool_calls
from airlock.gateway.routes.generation import Outcome, sse, stream_events, whole
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])
_TEXT_PARTS = ("input_text", "output_text", "text")


@router.post("/v1/responses", name="responses")
async def responses(body: ResponsesRequest, request: Request) -> Response:
    call = await begin(request, body.model, "responses")
    gateway = call.gateway
    check_texts(body)
    if gateway.upstream.serves(body.model):
        return await relay(call, "/responses", await request.json())
    check_fields(body, "responses")
    for name in (body.text.model_extra or {}) if body.text is not None else {}:
        raise UnsupportedParameter(
            f"Unsupported parameter: 'text.{name}' is not supported by this gateway's embedded "
            "models.",
            param=f"text.{name}",
        )
    if body.previous_response_id is not None:
        raise BadRequest(
            "previous_response_id: this gateway does not store responses; send the whole "
            "conversation in 'input' (and store: false)",
            param="previous_response_id",
        )
    if body.store:
        raise UnsupportedValue(
            "Unsupported value: 'store' does not support true; this gateway does not store "
            "responses; send store: false.",
            param="store",
        )
    limit = gateway.config.max_tokens_limit
    asked = body.max_output_tokens
    if asked is not None and asked > limit:
        raise BadRequest(
            f"max_output_tokens is {asked}; at most {limit}", param="max_output_tokens"
        )
    tools = _tool_use(body)
    output = _json_output(body)
    if tools is not None and output is not None:
        raise BadRequest(
            "send either function 'tools' or a JSON 'text.format', not both: the embedded "
            "models enforce one grammar per answer",
            param="text.format",
        )
    messages = _messages(body)
    if output is not None:
        messages.insert(0, {"role": "system", "content": instruction(output)})
    gen = Generation(
        messages=messages,
        tools=[_chat_tool(t.model_dump(exclude_none=True)) for t in body.tools or []]
        if tools
        else None,
        constraint=tools or output,
        max_tokens=asked or min(256, limit),
        default_max_tokens=asked is None,
        temperature=body.temperature,
        top_p=body.top_p,
    )
    shell = _Shell(body, tools is not None)
    if body.stream:
        return await stream_events(request, call, body.model, gen, [], shell.render, _error)
    text, outcome = await whole(request, call, body.model, [], gen)
    return JSONResponse(shell.final(shell.items(text), outcome).model_dump(mode="json"))


def _tool_use(body: ResponsesRequest) -> ToolUse | None:
    choice = body.tool_choice
    if not body.tools:
        if choice is not None and choice != "none":
            raise BadRequest("'tool_choice' needs 'tools'", param="tool_choice")
        return None
    if choice == "none":
        return None
    functions = tuple(
        t.model_dump(exclude_none=True, exclude={"type", "strict"}) for t in body.tools
    )
    if choice is None or isinstance(choice, str):
        return ToolUse(functions, choice or "auto", body.parallel_tool_calls)
    if choice.name not in [f["name"] for f in functions]:
        raise BadRequest(
            f"tool_choice names function '{choice.name}', which is not in 'tools'",
            param="tool_choice",
        )
    return ToolUse(functions, choice.name, parallel=False)


def _json_output(body: ResponsesRequest) -> JsonOutput | None:
    form = body.text.format if body.text is not None else None
    if form is None or form.type == "text":
        return None
    if form.type == "json_object":
        return JsonOutput({"type": "object"})
    if form.json_schema is None:
        raise BadRequest("text.format of type json_schema needs 'schema'", param="text.format")
    return JsonOutput(form.json_schema)


def _chat_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A Responses function tool as chat templates read it (Chat Completions' shape)."""
    function = {k: v for k, v in tool.items() if k not in ("type", "strict")}
    return {"type": "function", "function": function}


def _messages(body: ResponsesRequest) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    if body.instructions:
        turns.append({"role": "system", "content": body.instructions})
    if isinstance(body.input, str):
        return [*turns, {"role": "user", "content": body.input}]
    for i, item in enumerate(body.input):
        kind = item.get("type", "message")
        if kind == "message":
            turns.append({"role": item.get("role", "user"), "content": _text(item, i)})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {
                    "name": item.get("name"),
                    "arguments": _arguments(item.get("arguments", "{}"), i),
                },
            }
            last = turns[-1] if turns else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
                last["tool_calls"].append(call)
            else:
                turns.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            turns.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id"),
                    "content": output if isinstance(output, str) else json.dumps(output),
                }
            )
        else:
            raise UnsupportedValue(
                f"Unsupported value: input[{i}] is of type {json.dumps(kind)}; this gateway's "
                "embedded models read message, function_call and function_call_output items.",
                param="input",
            )
    if not turns:
        raise BadRequest("'input' is empty", param="input")
    return turns


def _text(item: dict[str, Any], index: int) -> str:
    if item.get("role") not in ("user", "assistant", "system", "developer"):
        raise BadRequest(f"input[{index}] has no valid role", param="input")
    content = item.get("content", "")
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for j, part in enumerate(content if isinstance(content, list) else []):
        if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS:
            kind = part.get("type") if isinstance(part, dict) else None
            raise UnsupportedValue(
                f"Unsupported value: input[{index}].content[{j}] is of type "
                f"{json.dumps(kind)}; this gateway's embedded models read text parts only.",
                param="input",
            )
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def _arguments(arguments: Any, index: int) -> Any:
    try:
        return json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError as exc:
        raise BadRequest(f"input[{index}].arguments is not JSON: {exc}", param="input") from exc


def _error(error: GatewayError) -> bytes:
    return sse(
        {"type": "error", "code": error.code, "message": error.message, "param": error.param}
    )


class _Shell:
    """One response: its ids, the request's settings it echoes, and its stream of events."""

    def __init__(self, body: ResponsesRequest, tools: bool) -> None:
        self.body, self.tools = body, tools
        self.id = f"resp_{uuid.uuid4().hex}"
        self.message_id = f"msg_{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.sequence = 0

    def snapshot(
        self,
        status: str,
        output: list[OutputMessage | FunctionCallItem],
        outcome: Outcome | None = None,
    ) -> ResponseObject:
        body = self.body
        form = body.text.format if body.text is not None else None
        tool_choice = body.tool_choice or ("auto" if body.tools else "none")
        return ResponseObject(
            id=self.id,
            created_at=self.created,
            status=status,  # type: ignore[arg-type]
            model=body.model,
            output=output,
            instructions=body.instructions,
            max_output_tokens=body.max_output_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            parallel_tool_calls=body.parallel_tool_calls,
            tool_choice=tool_choice if isinstance(tool_choice, str) else tool_choice.model_dump(),
            tools=[t.model_dump(exclude_none=True) for t in body.tools or []],
            text={"format": form.model_dump(by_alias=True, exclude_none=True)}
            if form is not None
            else {"format": {"type": "text"}},
            incomplete_details={"reason": "max_output_tokens"} if status == "incomplete" else None,
            usage=None
            if outcome is None
            else ResponseUsage(
                input_tokens=outcome.prompt_tokens,
                output_tokens=outcome.completion_tokens,
                total_tokens=outcome.prompt_tokens + outcome.completion_tokens,
            ),
            metadata=body.metadata or {},
        )

    def final(
        self, output: list[OutputMessage | FunctionCallItem], outcome: Outcome
    ) -> ResponseObject:
        status = "incomplete" if outcome.finish_reason == "length" else "completed"
        return self.snapshot(status, output, outcome)

    def items(self, text: str) -> list[OutputMessage | FunctionCallItem]:
        calls = tool_calls(text) if self.tools else None
        if calls is None:
            return [self.message(text, "completed")]
        return [self.function_call(c.id, c.function.name, c.function.arguments) for c in calls]

    def message(self, text: str | None, status: str) -> OutputMessage:
        content = [] if text is None else [OutputText(text=text)]
        return OutputMessage(id=self.message_id, status=status, content=content)  # type: ignore[arg-type]

    @staticmethod
    def function_call(call_id: str, name: str, arguments: str) -> FunctionCallItem:
        item_id = "fc_" + call_id.removeprefix("call_")
        return FunctionCallItem(id=item_id, call_id=call_id, name=name, arguments=arguments)

    def event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse(payload)

    def dumped(self, response: ResponseObject) -> dict[str, Any]:
        return response.model_dump(mode="json")

    async def render(self, pieces: AsyncIterator[str], outcome: Outcome) -> AsyncIterator[bytes]:
        started = self.dumped(self.snapshot("in_progress", []))
        yield self.event("response.created", response=started)
        yield self.event("response.in_progress", response=started)
        held: list[str] = []
        calls_mode, text = False, ""
        output: list[OutputMessage | FunctionCallItem] = []
        async for piece in pieces:
            if not held and not text and self.tools and piece.startswith(OPEN[0]):
                calls_mode = True
            if calls_mode:
                held.append(piece)
                for item in self.items("".join(held))[len(output) :]:
                    assert isinstance(item, FunctionCallItem)
                    for event in self._call_events(len(output), item):
                        yield event
                    output.append(item)
                continue
            if not text:
                for event in self._message_opening():
                    yield event
            text += piece
            yield self.event(
                "response.output_text.delta",
                item_id=self.message_id,
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        if not calls_mode:
            if not text:
                for event in self._message_opening():
                    yield event
            for event in self._message_closing(text):
                yield event
            output = [self.message(text, "completed")]
        final = self.final(output, outcome)
        kind = "response.incomplete" if final.status == "incomplete" else "response.completed"
        yield self.event(kind, response=self.dumped(final))

    def _message_opening(self) -> list[bytes]:
        added = self.message(None, "in_progress").model_dump(mode="json")
        return [
            self.event("response.output_item.added", output_index=0, item=added),
            self.event(
                "response.content_part.added",
                item_id=self.message_id,
                output_index=0,
                content_index=0,
                part=OutputText(text="").model_dump(mode="json"),
            ),
        ]

    def _message_closing(self, text: str) -> list[bytes]:
        part = OutputText(text=text).model_dump(mode="json")
        done = self.message(text, "completed").model_dump(mode="json")
        where = {"item_id": self.message_id, "output_index": 0, "content_index": 0}
        return [
            self.event("response.output_text.done", **where, text=text, logprobs=[]),
            self.event("response.content_part.done", **where, part=part),
            self.event("response.output_item.done", output_index=0, item=done),
        ]

    def _call_events(self, index: int, item: FunctionCallItem) -> list[bytes]:
        opening = item.model_copy(update={"arguments": "", "status": "in_progress"})
        where = {"item_id": item.id, "output_index": index}
        return [
            self.event(
                "response.output_item.added",
                output_index=index,
                item=opening.model_dump(mode="json"),
            ),
            self.event("response.function_call_arguments.delta", **where, delta=item.arguments),
            self.event(
                "response.function_call_arguments.done",
                **where,
                arguments=item.arguments,
                name=item.name,
            ),
            self.event(
                "response.output_item.done", output_index=index, item=item.model_dump(mode="json")
            ),
        ]
