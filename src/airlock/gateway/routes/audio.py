"""POST /v1/audio/transcriptions: multipart upload; response_format json, text or verbose_json."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from airlock.gateway.audio import TARGET_RATE, decode_wav
from airlock.gateway.engines.interface import Capability
from airlock.gateway.errors import BadRequest, TooLarge
from airlock.gateway.state import authenticate, begin

router = APIRouter(dependencies=[Depends(authenticate)])

_FORMATS = ("json", "text", "verbose_json")


@router.post("/v1/audio/transcriptions")
async def transcriptions(
    request: Request,
    file: UploadFile,
    model: Annotated[str, Form(min_length=1)],
    response_format: Annotated[str, Form()] = "json",
) -> Response:
    call = begin(request, model, "transcriptions")
    gateway = call.gateway
    if gateway.upstream.serves(model):
        raise BadRequest("transcription is not proxied to upstream servers", param="model")
    if response_format not in _FORMATS:
        raise BadRequest(
            f"response_format must be one of {', '.join(_FORMATS)}", param="response_format"
        )
    data = await file.read(gateway.config.max_audio_bytes + 1)
    if len(data) > gateway.config.max_audio_bytes:
        raise TooLarge(f"the audio file is larger than {gateway.config.max_audio_bytes} bytes")
    samples = decode_wav(data)
    async with gateway.manager.use(model) as loaded:
        if Capability.TRANSCRIPTION not in loaded.engine.capabilities:
            raise BadRequest(f"model '{model}' does not transcribe audio", param="model")
        async with loaded.exclusive:
            result = await loaded.run(loaded.engine.transcribe, samples, TARGET_RATE)
    call.finish(200)
    if response_format == "text":
        return PlainTextResponse(result.text)
    if response_format == "verbose_json":
        return JSONResponse(
            {
                "task": "transcribe",
                "language": result.language,
                "duration": result.duration_s,
                "text": result.text,
                "segments": [],
            }
        )
    return JSONResponse({"text": result.text})
