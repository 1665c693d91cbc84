"""POST /v1/audio/transcriptions and /v1/audio/translations (into English): multipart upload
(`file`, `model`, `language` for transcriptions, `prompt`, `temperature`); response_format
json, text, srt, verbose_json or vtt."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from airlock.gateway import cancellation, transcripts
from airlock.gateway.audio import TARGET_RATE, open_audio
from airlock.gateway.engines.interface import Capability, TranscriptionRequest
from airlock.gateway.errors import BadRequest, TooLarge
from airlock.gateway.fields import check_form
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import Call, authenticate, begin

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
    options = _Options(response_format, language, prompt, temperature, translate=False)
    return await _speech_to_text(request, file, model, options)


@router.post("/v1/audio/translations")
async def translations(
    request: Request,
    file: UploadFile,
    model: Annotated[str, Form(min_length=1)],
    response_format: Annotated[str, Form()] = "json",
    prompt: Annotated[str | None, Form()] = None,
    temperature: Annotated[float, Form()] = 0.0,
) -> Response:
    """Speech in any language Whisper knows, as English text (OpenAI's translations API)."""
    options = _Options(response_format, None, prompt, temperature, translate=True)
    return await _speech_to_text(request, file, model, options)


@dataclass(frozen=True)
class _Options:
    response_format: str
    language: str | None
    prompt: str | None
    temperature: float
    translate: bool


async def _speech_to_text(
    request: Request, file: UploadFile, model: str, options: _Options
) -> Response:
    endpoint = "translations" if options.translate else "transcriptions"
    call = await begin(request, model, endpoint)
    limit = call.gateway.config.max_audio_bytes
    # Starlette spooled the upload to a temporary file as it came: reserved before it is read.
    with call.gateway.audio_budget.hold(limit if file.size is None else min(limit, file.size)):
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"the audio file is larger than {limit} bytes")
        return await _answer(request, call, file, data, options)


async def _answer(
    request: Request, call: Call, file: UploadFile, data: bytes, options: _Options
) -> Response:
    gateway, model = call.gateway, call.model
    endpoint = "translations" if options.translate else "transcriptions"
    if gateway.upstream.serves(model):
        # Relayed as it came: the upstream judges its own fields and formats.
        fields = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
        upload = (file.filename or "audio", data, file.content_type or "application/octet-stream")
        return await relay(call, f"/audio/{endpoint}", _as_body(fields), [("file", upload)])
    implemented = {"file", "model", "response_format", "prompt", "temperature"}
    form = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    check_form(form, implemented if options.translate else {*implemented, "language"}, endpoint)
    response_format, temperature = options.response_format, options.temperature
    if response_format not in _FORMATS:
        raise BadRequest(
            f"response_format must be one of {', '.join(_FORMATS)}", param="response_format"
        )
    if not 0.0 <= temperature <= 1.0:
        raise BadRequest("temperature must be between 0 and 1", param="temperature")
    # The checking pass decodes the whole upload: off the event loop, and off the model's
    # worker so that other requests' transcriptions go on meanwhile. The samples themselves
    # are decoded again on the worker, window by window, as Whisper reads them.
    audio = await asyncio.to_thread(open_audio, data, gateway.config.max_audio_seconds)
    job = TranscriptionRequest(
        audio.blocks(),
        TARGET_RATE,
        options.language or None,
        options.prompt,
        temperature,
        translate=options.translate,
    )
    async with gateway.manager.use(model) as loaded:
        if Capability.TRANSCRIPTION not in loaded.engine.capabilities:
            raise BadRequest(f"model '{model}' does not transcribe audio", param="model")
        # A timeout or a client that goes away stops the transcription at its next window.
        async with cancellation.client_watch(request, job.cancel):
            until = cancellation.deadline(loaded)
            result = await cancellation.run(
                loaded, loaded.engine.transcribe, job, cancel=job.cancel, until=until
            )
    call.finish(200)
    if response_format == "text":
        return PlainTextResponse(result.text)
    if response_format == "srt":
        return PlainTextResponse(transcripts.srt(result))
    if response_format == "vtt":
        return PlainTextResponse(transcripts.vtt(result), media_type="text/vtt")
    if response_format == "verbose_json":
        return JSONResponse(transcripts.verbose_json(result, options.translate))
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
