"""POST /v1/audio/speech: `input` text spoken with `voice` at `speed`, in `response_format` mp3,
opus, aac, flac, wav or pcm, streamed a sentence at a time as the model speaks it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from airlock.gateway import cancellation
from airlock.gateway.engines.interface import Capability, SpeechRequest, SpeechStream
from airlock.gateway.errors import BadRequest, ClientClosed
from airlock.gateway.fields import check_fields
from airlock.gateway.protocol import _Request
from airlock.gateway.routes.proxy import relay
from airlock.gateway.speech_audio import FORMATS, encode
from airlock.gateway.state import Call, authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])
LOGGER = logging.getLogger(__name__)

MAX_INPUT_CHARS = 4096  # OpenAI's limit for `input`


class SpeechBody(_Request):
    input: str = Field(max_length=MAX_INPUT_CHARS)
    voice: Any = None  # a name; OpenAI's custom-voice object ({"id": ...}) is refused by name
    response_format: str = "mp3"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)  # OpenAI's range


@router.post("/v1/audio/speech")
async def speech(body: SpeechBody, request: Request) -> Response:
    call = await begin(request, body.model, "speech")
    check_texts(body)
    if call.gateway.upstream.serves(body.model):
        return await relay(call, "/audio/speech", await request.json())
    check_fields(body, "speech")
    if not body.input.strip():
        raise BadRequest("input must not be empty", param="input")
    if not isinstance(body.voice, str) or not body.voice:
        raise BadRequest("voice must be a voice name (custom voice objects are not supported)",
                         param="voice")  # fmt: skip
    if body.response_format not in FORMATS:
        raise BadRequest(
            f"response_format must be one of {', '.join(FORMATS)}", param="response_format"
        )
    job = SpeechRequest(body.input, body.voice, body.speed)
    stack = AsyncExitStack()
    loaded = await stack.enter_async_context(call.gateway.manager.use(body.model))
    try:
        if Capability.SPEECH not in loaded.engine.capabilities:
            raise BadRequest(f"model '{body.model}' does not speak", param="model")
        until = cancellation.deadline(loaded)
        # The voice and the text are checked (400) before the answer starts.
        async with cancellation.client_watch(request, job.cancel):
            spoken: SpeechStream = await cancellation.run(
                loaded, loaded.engine.speak, job, cancel=job.cancel, until=until
            )
    except BaseException:
        await stack.aclose()
        raise
    pieces = encode(body.response_format, spoken.sample_rate, spoken.blocks)
    source = cancellation.pieces(loaded, pieces, job.cancel, until)
    return StreamingResponse(
        _body(call, stack, source), media_type=FORMATS[body.response_format].media_type
    )


async def _body(
    call: Call, stack: AsyncExitStack, source: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The audio as it is encoded. The headers are sent by then: a failure ends the stream
    short (and is logged, and recorded with its status)."""
    status = 200
    try:
        async with aclosing(source) as pieces:  # type: ignore[type-var]
            async for piece in pieces:
                if piece:
                    yield piece
    except (asyncio.CancelledError, GeneratorExit):
        status = ClientClosed.status
        raise
    except Exception as exc:
        status = getattr(exc, "status", 500)
        LOGGER.error("speech failed after the audio started", exc_info=exc)
    finally:
        await stack.aclose()
        call.finish(status)
