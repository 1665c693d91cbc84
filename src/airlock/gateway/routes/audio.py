"""POST /v1/audio/transcriptions: multipart upload (`file`, `model`, `language`, `prompt`,
`temperature`); response_format json, text, srt, verbose_json or vtt."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from airlock.gateway import transcripts
from airlock.gateway.audio import TARGET_RATE, decode_audio
from airlock.gateway.engines.interface import Capability, TranscriptionRequest
from airlock.gateway.errors import BadRequest, TooLarge
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import authenticate, begin

router = APIRouter(dependencies=[Depends(authenticate)])

_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


@router.post("/v1/audio/transcriptions")
async def transcriptions(
    request: Request,
    file: UploadFile,
    model: Annotated[str, Form(min_length=1)],
    response_format: Annotated[str, Form()] = "json",
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form()] = None,
    temperature: Annotated[float, Form()] = 0.0,
) -> Response:
    call = begin(request, model, "transcriptions")
    gateway = call.gateway
    data = await file.read(gateway.config.max_audio_bytes + 1)
    if len(data) > gateway.config.max_audio_bytes:
        raise TooLarge(f"the audio file is larger than {gateway.config.max_audio_bytes} bytes")
    if gateway.upstream.serves(model):
        # Relayed as it came: the upstream judges its own fields and formats.
        fields = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
        upload = (file.filename or "audio", data, file.content_type or "application/octet-stream")
        return await relay(call, "/audio/transcriptions", _as_body(fields), [("file", upload)])
    if response_format not in _FORMATS:
        raise BadRequest(
            f"response_format must be one of {', '.join(_FORMATS)}", param="response_format"
        )
    if not 0.0 <= temperature <= 1.0:
        raise BadRequest("temperature must be between 0 and 1", param="temperature")
    # ffmpeg decoding and resampling are CPU work: off the event loop, and off the model's
    # worker so that other requests' transcriptions go on meanwhile.
    samples = await asyncio.to_thread(decode_audio, data, gateway.config.max_audio_seconds)
    job = TranscriptionRequest(samples, TARGET_RATE, language or None, prompt, temperature)
    async with gateway.manager.use(model) as loaded:
        if Capability.TRANSCRIPTION not in loaded.engine.capabilities:
            raise BadRequest(f"model '{model}' does not transcribe audio", param="model")
        async with loaded.exclusive:
            result = await loaded.run(loaded.engine.transcribe, job)
    call.finish(200)
    if response_format == "text":
        return PlainTextResponse(result.text)
    if response_format == "srt":
        return PlainTextResponse(transcripts.srt(result))
    if response_format == "vtt":
        return PlainTextResponse(transcripts.vtt(result), media_type="text/vtt")
    if response_format == "verbose_json":
        return JSONResponse(transcripts.verbose_json(result))
    return JSONResponse({"text": result.text})


def _as_body(fields: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields for httpx: a name given more than once (`timestamp_granularities[]`) keeps
    every value."""
    body: dict[str, Any] = {}
    for name, value in fields:
        if name in body:
            previous = body[name]
            body[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            body[name] = value
    return body
