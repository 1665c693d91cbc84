"""POST /v1/chat/completions: the model's chat template; SSE streaming with
`stream_options.include_usage`; stop, max_tokens, temperature, top_p, seed, response_format."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.engines.interface import Generation
from airlock.gateway.errors import UnsupportedValue
from airlock.gateway.fields import check_messages, check_sampling
from airlock.gateway.protocol import ChatCompletionRequest, ChatMessage, usage
from airlock.gateway.routes.generation import ChunkShape, sampling, streamed, whole
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])

# JSON mode: asked for in the prompt (so the model means it) and enforced by the engine's
# constrained decoding (engines/json_constraint.py).
_JSON_INSTRUCTION = "Respond with a single JSON object and nothing else."


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
    messages = [_message(m) for m in body.messages]
    if body.response_format is not None and body.response_format.type == "json_schema":
        raise UnsupportedValue(
            "Unsupported value: 'response_format.type' does not support \"json_schema\" on "
            'this gateway\'s embedded models; supported: "text", "json_object" (upstream '
            "servers get json_schema relayed).",
            param="response_format",
        )
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
        return await streamed(request, call, body, gen, head, _CHUNKS)
    text, outcome = await whole(request, call, body, gen)
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


def _message(message: ChatMessage) -> dict[str, str]:
    """Role, text and, when given, the speaker's name (templates that know it use it)."""
    turn = {"role": message.role, "content": message.text()}
    if message.name:
        turn["name"] = message.name
    return turn


def _delta(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}


_CHUNKS = ChunkShape(
    object="chat.completion.chunk",
    opening=_delta({"role": "assistant", "content": ""}),
    piece=lambda text: _delta({"content": text}),
    closing=lambda finish_reason: _delta({}, finish_reason),
)
