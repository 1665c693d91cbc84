"""POST /v1/images/generations (JSON) and /v1/images/edits (multipart: `image` and `prompt`):
PNG images as base64 (`b64_json`); `url` is refused, since the gateway hosts no files. `seed`,
`num_inference_steps` (or `steps`), `guidance_scale`, `negative_prompt` and, for edits,
`strength` are extra fields beyond OpenAI's."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import time
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import Field

from airlock.gateway import cancellation
from airlock.gateway.engines.interface import Capability, Engine, ImageRequest
from airlock.gateway.errors import BadRequest
from airlock.gateway.fields import check_fields, check_form
from airlock.gateway.image_queue import MAX_IMAGES
from airlock.gateway.protocol import _Request
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import Call, authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])

MAX_PROMPT_CHARS = 4000  # OpenAI's limit for dall-e-3; CLIP reads the first 77 tokens anyway
# An upload's pixels, read from its header before it is decoded (a decompression bomb is
# refused there): 16 megapixels, a 4096x4096 image.
MAX_UPLOAD_PIXELS = 4096 * 4096
_UPLOAD_FORMATS = ("PNG", "JPEG", "WEBP")
_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")


class ImageGenerationRequest(_Request):
    prompt: str = Field(max_length=MAX_PROMPT_CHARS)
    n: int = Field(default=1, ge=1, le=MAX_IMAGES)
    size: str | None = None
    response_format: str | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**62)
    num_inference_steps: int | None = Field(default=None, ge=1)
    steps: int | None = Field(default=None, ge=1)  # the same, as other servers spell it
    guidance_scale: float | None = Field(default=None, ge=0.0, le=50.0)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)


@router.post("/v1/images/generations")
async def generations(body: ImageGenerationRequest, request: Request) -> Response:
    call = await begin(request, body.model, "images")
    check_texts(body)
    if call.gateway.upstream.serves(body.model):
        return await relay(call, "/images/generations", await request.json())
    check_fields(body, "images")
    job = ImageRequest(
        _prompt(body.prompt),
        body.n,
        _size(body.size),
        _steps(body.num_inference_steps, body.steps),
        body.seed,
        body.guidance_scale,
        body.negative_prompt,
    )
    _response_format(body.response_format)
    return await _answer(request, call, job, Capability.IMAGES)


@router.post("/v1/images/edits")
async def edits(
    request: Request,
    image: UploadFile,
    prompt: Annotated[str, Form(max_length=MAX_PROMPT_CHARS)],
    model: Annotated[str, Form(min_length=1)],
    n: Annotated[int, Form(ge=1, le=MAX_IMAGES)] = 1,
    size: Annotated[str | None, Form()] = None,
    response_format: Annotated[str | None, Form()] = None,
    seed: Annotated[int | None, Form(ge=0, lt=2**62)] = None,
    num_inference_steps: Annotated[int | None, Form(ge=1)] = None,
    steps: Annotated[int | None, Form(ge=1)] = None,
    strength: Annotated[float, Form(gt=0.0, le=1.0)] = 0.8,
    guidance_scale: Annotated[float | None, Form(ge=0.0, le=50.0)] = None,
    negative_prompt: Annotated[str | None, Form(max_length=MAX_PROMPT_CHARS)] = None,
) -> Response:
    call = await begin(request, model, "image_edits")
    form = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    data = await image.read()
    if call.gateway.upstream.serves(model):
        upload = (image.filename or "image.png", data, image.content_type or "image/png")
        return await relay(call, "/images/edits", dict(form), [("image", upload)])
    implemented = {
        *("image", "prompt", "model", "n", "size", "response_format", "seed"),
        *("num_inference_steps", "steps", "strength", "guidance_scale", "negative_prompt"),
    }
    check_form(form, implemented, "image_edits")
    _response_format(response_format)
    start = await asyncio.to_thread(_decode_upload, data)
    job = ImageRequest(
        _prompt(prompt),
        n,
        _size(size),
        _steps(num_inference_steps, steps),
        seed,
        guidance_scale,
        negative_prompt,
        image=start,
        strength=strength,
    )
    return await _answer(request, call, job, Capability.IMAGE_EDITS)


async def _answer(request: Request, call: Call, job: ImageRequest, needs: Capability) -> Response:
    gateway, model = call.gateway, call.model
    with gateway.image_queue.hold(job.n):
        async with gateway.manager.use(model) as loaded:
            if needs not in loaded.engine.capabilities:
                what = "edit images" if needs is Capability.IMAGE_EDITS else "generate images"
                raise BadRequest(f"model '{model}' does not {what}", param="model")
            # A timeout or a client that goes away stops the pipeline at its next step.
            async with cancellation.client_watch(request, job.cancel):
                until = cancellation.deadline(loaded)
                pngs = await cancellation.run(
                    loaded, _make, loaded.engine, job, cancel=job.cancel, until=until
                )
    call.finish(200)
    data = [{"b64_json": base64.b64encode(png).decode("ascii")} for png in pngs]
    return JSONResponse({"created": int(time.time()), "data": data, "output_format": "png"})


def _make(engine: Engine, job: ImageRequest) -> list[bytes]:
    from PIL import Image

    pngs = []
    for pixels in engine.generate_images(job):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    return pngs


def _prompt(prompt: str) -> str:
    if not prompt.strip():
        raise BadRequest("prompt must not be empty", param="prompt")
    return prompt


def _size(size: str | None) -> tuple[int, int] | None:
    """(width, height), or None for the model's native size ("auto" or left out); whether the
    model makes that size is the engine's to say."""
    if size is None or size == "auto":
        return None
    match = _SIZE.fullmatch(size)
    if match is None:
        raise BadRequest(
            f"size {size!r} is not WIDTHxHEIGHT in pixels (e.g. 512x512) or 'auto'", param="size"
        )
    return int(match[1]), int(match[2])


def _steps(num_inference_steps: int | None, steps: int | None) -> int | None:
    if num_inference_steps is not None and steps is not None and num_inference_steps != steps:
        raise BadRequest("give num_inference_steps or steps, not both", param="steps")
    return num_inference_steps or steps


def _response_format(response_format: str | None) -> None:
    if response_format == "url":
        raise BadRequest(
            "response_format 'url' is not supported: the gateway hosts no files; use "
            "'b64_json' (the default here)",
            param="response_format",
        )
    if response_format not in (None, "b64_json"):
        raise BadRequest("response_format must be 'b64_json'", param="response_format")


def _decode_upload(data: bytes) -> npt.NDArray[np.uint8]:
    """The uploaded image as RGB pixels: PNG, JPEG or WebP, its size checked from its header
    before its pixels are decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=_UPLOAD_FORMATS) as image:
            width, height = image.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise BadRequest(
                    f"image is {width}x{height}; at most {MAX_UPLOAD_PIXELS:,} pixels",
                    param="image",
                )
            pixels: Any = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BadRequest(
            f"image is not a readable {', '.join(_UPLOAD_FORMATS)} image", param="image"
        ) from None
    result: npt.NDArray[np.uint8] = pixels
    return result
