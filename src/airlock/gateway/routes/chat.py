"""POST /v1/chat/completions: the model's chat template; SSE streaming with
`stream_options.include_usage`; stop, max_tokens, temperature, top_p, seed, response_format."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from airlock.gateway.engines.interface import Generation
from airlock.gateway.errors import BadRequest, GatewayError
from airlock.gateway.lifecycle import Loaded
from airlock.gateway.protocol import ChatCompletionRequest, error_body, usage
from airlock.gateway.routes.generation import DONE, Outcome, generate, sampling, sse
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import Call, authenticate, begin

router = APIRouter(dependencies=[Depends(authenticate)])

# JSON mode: asked for in the prompt (so the model means it) and enforced by the engine's
# constrained decoding (engines/json_constraint.py).
_JSON_INSTRUCTION = "Respond with a single JSON object and nothing else."


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    call = begin(request, body.model, "chat")
    gateway = call.gateway
    if gateway.upstream.serves(body.model):
        return await relay(call, "/chat/completions", await request.json())
    messages = [{"role": m.role, "content": m.text()} for m in body.messages]
    if body.response_format is not None and body.response_format.type == "json_schema":
        raise BadRequest("json_schema is served by upstream engines only", param="response_format")
    json_object = body.response_format is not None and body.response_format.type == "json_object"
    if json_object:
        messages.insert(0, {"role": "system", "content": _JSON_INSTRUCTION})
    gen = Generation(
        messages=messages,
        json_object=json_object,
        **sampling(body, gateway.config.max_tokens_limit),
    )
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        stack = AsyncExitStack()
        loaded = await stack.enter_async_context(gateway.manager.use(body.model))
        events = _stream(call, stack, loaded, gen, body.stops(), head, include_usage)
        return StreamingResponse(events, media_type="text/event-stream")
    outcome = Outcome()
    async with gateway.manager.use(body.model) as loaded:
        text = "".join([p async for p in generate(loaded, gen, body.stops(), outcome)])
    call.finish(200, outcome.prompt_tokens, outcome.completion_tokens)
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": outcome.finish_reason,
        "logprobs": None,
    }
    return JSONResponse(
        {
            **head,
            "object": "chat.completion",
            "choices": [choice],
            "usage": usage(outcome.prompt_tokens, outcome.completion_tokens),
        }
    )


async def _stream(
    call: Call,
    stack: AsyncExitStack,
    loaded: Loaded,
    gen: Generation,
    stops: list[str],
    head: dict[str, Any],
    include_usage: bool,
) -> AsyncIterator[bytes]:
    chunk = {**head, "object": "chat.completion.chunk"}
    outcome = Outcome()
    status = 200
    try:
        yield sse({**chunk, "choices": [_delta({"role": "assistant", "content": ""})]})
        async for piece in generate(loaded, gen, stops, outcome):
            yield sse({**chunk, "choices": [_delta({"content": piece})]})
        yield sse({**chunk, "choices": [_delta({}, outcome.finish_reason)]})
        if include_usage:
            tokens = usage(outcome.prompt_tokens, outcome.completion_tokens)
            yield sse({**chunk, "choices": [], "usage": tokens})
        yield DONE
    except GatewayError as exc:  # headers are sent: the error goes in the stream
        status = exc.status
        yield sse(error_body(exc))
    finally:
        await stack.aclose()
        call.finish(status, outcome.prompt_tokens, outcome.completion_tokens)


def _delta(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
