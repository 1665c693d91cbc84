"""POST /v1/completions: a raw prompt, streamed or not (the legacy completions API)."""

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
from airlock.gateway.protocol import CompletionRequest, error_body, usage
from airlock.gateway.routes.generation import DONE, Outcome, generate, sampling, sse
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import Call, authenticate, begin

router = APIRouter(dependencies=[Depends(authenticate)])


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request) -> Response:
    call = begin(request, body.model, "completions")
    gateway = call.gateway
    if gateway.upstream.serves(body.model):
        return await relay(call, "/completions", await request.json())
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if len(prompts) != 1:
        raise BadRequest("send one prompt per request", param="prompt")
    prompt = prompts[0]
    gen = Generation(prompt=prompt, **sampling(body, gateway.config.max_tokens_limit))
    head = {"id": f"cmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    prefix = prompt if body.echo else ""
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        stack = AsyncExitStack()
        loaded = await stack.enter_async_context(gateway.manager.use(body.model))
        events = _stream(call, stack, loaded, gen, body.stops(), head, include_usage, prefix)
        return StreamingResponse(events, media_type="text/event-stream")
    outcome = Outcome()
    async with gateway.manager.use(body.model) as loaded:
        text = "".join([p async for p in generate(loaded, gen, body.stops(), outcome)])
    call.finish(200, outcome.prompt_tokens, outcome.completion_tokens)
    return JSONResponse(
        {
            **head,
            "object": "text_completion",
            "choices": [_choice(prefix + text, outcome.finish_reason)],
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
    prefix: str,
) -> AsyncIterator[bytes]:
    chunk = {**head, "object": "text_completion"}
    outcome = Outcome()
    status = 200
    try:
        if prefix:
            yield sse({**chunk, "choices": [_choice(prefix, None)]})
        async for piece in generate(loaded, gen, stops, outcome):
            yield sse({**chunk, "choices": [_choice(piece, None)]})
        yield sse({**chunk, "choices": [_choice("", outcome.finish_reason)]})
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


def _choice(text: str, finish_reason: str | None) -> dict[str, Any]:
    return {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}
