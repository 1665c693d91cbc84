"""GET /v1/models (servable admitted and upstream models the key may use), /health, /metrics.

What a key may learn is what it may use: a model it may not use is answered as one that does
not exist (404), and is left out of /v1/models, /health and /metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.auth import KeyInfo
from airlock.gateway.catalog import ModelNotServable
from airlock.gateway.errors import GatewayError, Unauthorized, model_not_found
from airlock.gateway.state import Gateway, authenticate, gateway_of
from airlock.gateway.upstream import ENFORCED

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> Response:
    """Liveness for anyone (probes carry no key); the loaded models only to a valid key, and
    of those only the ones it may use."""
    try:
        key = authenticate(request)
    except Unauthorized:
        return JSONResponse({"status": "ok"})
    loaded = [n for n in gateway_of(request).manager.loaded if key is None or key.allows(n)]
    return JSONResponse({"status": "ok", "loaded": loaded})


@router.get("/metrics")
async def metrics(
    request: Request, key: Annotated[KeyInfo | None, Depends(authenticate)]
) -> Response:
    """All series for a key that may use every model; a key limited to some models sees only
    theirs (series of other models, or of all models together, would show their traffic)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    sees = None if key is None or key.models is None else key.allows
    return Response(gateway_of(request).metrics.render(sees), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models")
async def list_models(
    request: Request, key: Annotated[KeyInfo | None, Depends(authenticate)]
) -> Response:
    names = _visible(request, key)
    return JSONResponse({"object": "list", "data": [_card(request, n) for n in names]})


@router.get("/v1/models/{name:path}")
async def get_model(
    name: str, request: Request, key: Annotated[KeyInfo | None, Depends(authenticate)]
) -> Response:
    if name not in _visible(request, key):
        if key is not None and not key.allows(name):
            raise model_not_found(name)
        model = gateway_of(request).manager.admitted(name)  # 404 when not admitted at all
        if model.not_servable is not None:
            raise ModelNotServable(model)  # admitted, not listed: say why rather than 404
        raise model_not_found(name)
    return JSONResponse(_card(request, name))


def _visible(request: Request, key: KeyInfo | None) -> list[str]:
    gateway = gateway_of(request)
    relayed = [n for n in gateway.upstream.names if _still_admitted(gateway, n)]
    names = sorted({*gateway.manager.catalog_names(), *relayed})
    return [n for n in names if key is None or key.allows(n)]


def _still_admitted(gateway: Gateway, name: str) -> bool:
    """A managed engine's model is listed while it is admitted (a plain upstream always)."""
    route = gateway.upstream.route(name)
    if route is None or not route.managed:
        return True
    try:
        gateway.manager.admitted(name)
    except GatewayError:
        return False
    return True


def _card(request: Request, name: str) -> dict[str, object]:
    """OpenAI's model object, plus `integrity`: whether what answers runs the admitted bytes
    (embedded and managed engines load the verified copy; a plain upstream loads its own)."""
    route = gateway_of(request).upstream.route(name)
    integrity = ENFORCED if route is None else route.integrity
    served_by = "airlock" if route is None else (route.kind if route.managed else "upstream")
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "airlock",
        "integrity": integrity,
        "served_by": served_by,
    }
