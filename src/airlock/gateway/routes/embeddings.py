"""POST /v1/embeddings: float or base64 (little-endian float32, the openai client's default),
`dimensions` (truncate, then re-normalize), batched input, dynamic batching across requests."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.batching import Batcher
from airlock.gateway.engines.interface import Capability, Engine
from airlock.gateway.errors import BadRequest, TooLarge
from airlock.gateway.fields import check_fields
from airlock.gateway.lifecycle import Loaded
from airlock.gateway.protocol import EmbeddingRequest, usage
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])

Vector = npt.NDArray[np.float32]


@router.post("/v1/embeddings")
async def embeddings(body: EmbeddingRequest, request: Request) -> Response:
    call = await begin(request, body.model, "embeddings")
    gateway = call.gateway
    check_texts(body)  # before a tokenizer, a batch or an upstream sees them
    if gateway.upstream.serves(body.model):
        return await relay(call, "/embeddings", await request.json())
    check_fields(body, "embeddings")
    texts = _texts(body.input)
    if len(texts) > gateway.config.max_inputs:
        raise TooLarge(f"{len(texts)} inputs; at most {gateway.config.max_inputs} per request")
    async with gateway.manager.use(body.model) as loaded:
        if Capability.EMBEDDINGS not in loaded.engine.capabilities:
            raise BadRequest(f"model '{body.model}' does not produce embeddings", param="model")
        results = await _batcher(loaded).submit(texts)
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(_fit(v, body.dimensions), body)}
        for i, (v, _) in enumerate(results)
    ]
    tokens = sum(n for _, n in results)
    call.finish(200, tokens)
    return JSONResponse(
        {"object": "list", "data": data, "model": body.model, "usage": usage(tokens)}
    )


def _texts(raw: str | list[str] | list[int] | list[list[int]]) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not items:
        raise BadRequest("'input' must not be empty", param="input")
    if not all(isinstance(t, str) for t in items):
        # Token ids from another tokenizer (LangChain sends tiktoken's) would embed nonsense.
        raise BadRequest(
            "token-array input is not supported; send text (LangChain: "
            "OpenAIEmbeddings(..., check_embedding_ctx_length=False))",
            param="input",
        )
    texts = [str(t) for t in items]
    if any(not t for t in texts):
        raise BadRequest("'input' must not contain empty strings", param="input")
    return texts


def _batcher(loaded: Loaded) -> Batcher[str, tuple[Vector, int]]:
    batcher = loaded.batchers.get("embeddings")
    if batcher is None:

        async def run(texts: list[str]) -> list[tuple[Vector, int]]:
            return await loaded.run(_embed, loaded.engine, texts)

        batcher = Batcher(run, *loaded.batch_config)
        loaded.batchers["embeddings"] = batcher
    return batcher


def _embed(engine: Engine, texts: list[str]) -> list[tuple[Vector, int]]:
    result = engine.embed(texts)
    return list(zip(result.vectors, result.tokens, strict=True))


def _fit(vector: Vector, dimensions: int | None) -> Vector:
    if dimensions is None:
        return vector
    if dimensions > vector.shape[0]:
        raise BadRequest(
            f"'dimensions' is {dimensions}; this model's embeddings have {vector.shape[0]}",
            param="dimensions",
        )
    cut = vector[:dimensions]
    norm = float(np.linalg.norm(cut))
    return cut / norm if norm > 0 else cut


def _encode(vector: Vector, body: EmbeddingRequest) -> Any:
    if body.encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]
