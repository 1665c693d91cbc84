"""POST /v1/rerank (the Cohere/Jina/vLLM shape, also at /rerank and /v2/rerank as vLLM serves
it): query, documents (strings or `{"text": ...}`), top_n, return_documents ->
results[{index, relevance_score, document{text}}], best first."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.batching import Batcher
from airlock.gateway.engines.interface import Capability, Engine
from airlock.gateway.errors import BadRequest, TooLarge
from airlock.gateway.fields import check_fields
from airlock.gateway.lifecycle import Loaded
from airlock.gateway.protocol import RerankRequest
from airlock.gateway.routes.proxy import relay
from airlock.gateway.state import authenticate, begin
from airlock.gateway.texts import check_texts

router = APIRouter(dependencies=[Depends(authenticate)])

Pair = tuple[str, str]


@router.post("/v1/rerank")
@router.post("/v2/rerank")
@router.post("/rerank")
async def rerank(body: RerankRequest, request: Request) -> Response:
    call = await begin(request, body.model, "rerank")
    gateway = call.gateway
    check_texts(body)  # before a tokenizer, a batch or an upstream sees them
    if gateway.upstream.serves(body.model):
        return await relay(call, "/rerank", await request.json())
    check_fields(body, "rerank")
    documents = [d if isinstance(d, str) else d.text for d in body.documents]
    if len(documents) > gateway.config.max_inputs:
        raise TooLarge(
            f"{len(documents)} documents; at most {gateway.config.max_inputs} per request"
        )
    async with gateway.manager.use(body.model) as loaded:
        if Capability.RERANK not in loaded.engine.capabilities:
            raise BadRequest(f"model '{body.model}' does not rerank", param="model")
        scored = await _batcher(loaded).submit([(body.query, d) for d in documents])
    order = sorted(range(len(scored)), key=lambda i: scored[i][0], reverse=True)
    results = []
    for index in order[: body.top_n or len(order)]:
        result: dict[str, object] = {"index": index, "relevance_score": scored[index][0]}
        if body.return_documents:
            result["document"] = {"text": documents[index]}
        results.append(result)
    tokens = sum(n for _, n in scored)
    call.finish(200, tokens)
    return JSONResponse(
        {
            "id": f"rerank-{uuid.uuid4().hex}",
            "model": body.model,
            "results": results,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def _batcher(loaded: Loaded) -> Batcher[Pair, tuple[float, int]]:
    batcher = loaded.batchers.get("rerank")
    if batcher is None:

        async def run(pairs: list[Pair]) -> list[tuple[float, int]]:
            return await loaded.run(_score, loaded.engine, pairs)

        batcher = Batcher(run, *loaded.batch_config)
        loaded.batchers["rerank"] = batcher
    return batcher


def _score(engine: Engine, pairs: list[Pair]) -> list[tuple[float, int]]:
    scores, tokens = engine.rerank(pairs)
    return list(zip(scores, tokens, strict=True))
