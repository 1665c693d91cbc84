"""POST /v1/completions: a raw prompt, streamed or not (the legacy completions API)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.engines.interface import Generation, TokenLogprob
from airlock.gateway.errors import BadRequest, UnsupportedValue
from airlock.gateway.fields import check_sampling
from airlock.gateway.protocol import (
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
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


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request) -> Response:
    call = await begin(request, body.model, "completions")
    gateway = call.gateway
    check_texts(body)  # before a tokenizer, a batch or an upstream sees them
    if gateway.upstream.serves(body.model):
        return await relay(call, "/completions", await request.json())
    check_sampling(body, "completions")
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if len(prompts) != 1:
        raise BadRequest("send one prompt per request", param="prompt")
    prompt = prompts[0]
    if body.logprobs is not None and body.echo:
        raise UnsupportedValue(
            "Unsupported value: 'logprobs' with 'echo' (the prompt's logprobs) is not supported "
            "on this gateway's embedded models; leave out one of them.",
            param="logprobs",
        )
    setting = logprobs_setting(body.stream, body.logprobs is not None, body.logprobs)
    gen = Generation(
        prompt=prompt, logprobs=setting, **sampling(body, gateway.config.max_tokens_limit)
    )
    ident, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    head = {"id": ident, "created": created, "model": body.model}
    prefix = prompt if body.echo else ""
    if body.stream:
        if body.n > 1:
            raise UnsupportedValue(
                "Unsupported value: 'n' above 1 is not supported with 'stream' on this "
                "gateway's embedded models; send n: 1, or leave out stream.",
                param="n",
            )
        return await streamed(request, call, body, gen, head, _chunks(prefix))
    made = await wholes(request, call, body.model, body.stops(), choices(gen, body.n))
    prompt_tokens = made[0][1].prompt_tokens
    completion_tokens = sum(outcome.completion_tokens for _, outcome in made)
    completion = Completion(
        id=ident,
        created=created,
        model=body.model,
        choices=[
            CompletionChoice(
                index=index,
                text=prefix + text,
                finish_reason=outcome.finish_reason,
                logprobs=None
                if body.logprobs is None
                else _logprobs(kept_logprobs(outcome.logprobs, text), body.logprobs),
            )
            for index, (text, outcome) in enumerate(made)
        ],
        usage=Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        ),
    )
    return JSONResponse(completion.model_dump(mode="json"))


def _choice(text: str, finish_reason: str | None) -> dict[str, Any]:
    return CompletionChoice(text=text, finish_reason=finish_reason).model_dump(mode="json")


def _chunks(prefix: str) -> ChunkShape:
    return ChunkShape(
        object="text_completion",
        opening=_choice(prefix, None) if prefix else None,  # echo: the prompt comes first
        piece=lambda text: [_choice(text, None)],
        closing=lambda finish_reason: [_choice("", finish_reason)],
    )


def _logprobs(logprobs: list[TokenLogprob], top: int) -> CompletionLogprobs:
    offsets, at = [], 0
    for entry in logprobs:
        offsets.append(at)
        at += len(entry.token)
    return CompletionLogprobs(
        tokens=[e.token for e in logprobs],
        token_logprobs=[e.logprob for e in logprobs],
        top_logprobs=[dict(e.top) for e in logprobs] if top else None,
        text_offset=offsets,
    )
