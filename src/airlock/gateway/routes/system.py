"""GET /v1/models (servable admitted and upstream models the key may use), /health, /metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.auth import KeyInfo
from airlock.gateway.catalog import ModelNotServable
from airlock.gateway.errors import ModelNotFound
from airlock.gateway.state import authenticate, gateway_of

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "loaded": gateway_of(request).manager.loaded})


@router.get("/metrics", dependencies=[Depends(authenticate)])
async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(gateway_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models")
async def list_models(
    request: Request, key: Annotated[KeyInfo | None, Depends(authenticate)]
) -> Response:
    names = _visible(request, key)
    return JSONResponse({"object": "list", "data": [_card(n) for n in names]})


@router.get("/v1/models/{name:path}")
async def get_model(
    name: str, request: Request, key: Annotated[KeyInfo | None, Depends(authenticate)]
) -> Response:
    if name not in _visible(request, key):
        model = gateway_of(request).manager.admitted(name)  # 404 when not admitted at all
        if model.not_servable is not None and (key is None or key.allows(name)):
            raise ModelNotServable(model)  # admitted, not listed: say why rather than 404
        raise ModelNotFound(f"The model '{name}' does not exist or is not admitted", param="model")
    return JSONResponse(_card(name))


def _visible(request: Request, key: KeyInfo | None) -> list[str]:
    gateway = gateway_of(request)
    names = sorted({*gateway.manager.catalog_names(), *gateway.upstream.names})
    return [n for n in names if key is None or key.allows(n)]


def _card(name: str) -> dict[str, object]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "airlock"}
