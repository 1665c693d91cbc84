"""GET /v1/models (servable admitted and upstream models the key may use), /health, /metrics;
/health/live and /health/ready for load balancers and orchestrators (no key needed).

What a key may learn is what it may use: a model it may not use is answered as one that does
not exist (404), and is left out of /v1/models, /health and /metrics."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from airlock.gateway.auth import KeyInfo
from airlock.gateway.catalog import refusal
from airlock.gateway.errors import GatewayError, Unauthorized, model_not_found
from airlock.gateway.state import Gateway, authenticate, gateway_of
from airlock.gateway.upstream import ENFORCED

router = APIRouter()
_PROBE_S = 2.0  # a probe that waits longer than this is failing anyway


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


@router.get("/health/live")
async def live() -> Response:
    """The process answers: restart it when this fails."""
    return JSONResponse({"status": "ok"})


@router.get("/health/ready")
async def ready(request: Request) -> Response:
    """Whether this replica can serve now: the database answers, and with shared state failing
    closed, Redis answers and the change channel is subscribed. 503 (send no traffic)
    otherwise; each check says `ok` or why not, without addresses or passwords."""
    gateway = gateway_of(request)
    checks = {"database": "ok"}
    try:
        await asyncio.wait_for(asyncio.to_thread(gateway.keys.ping), _PROBE_S)
    except Exception as exc:  # any failure means not ready; the probe says which kind
        checks["database"] = type(exc).__name__
    if gateway.config.shared is not None:
        checks["redis"] = "ok"
        try:
            await asyncio.wait_for(gateway.limits.ping(), _PROBE_S)
        except Exception as exc:
            checks["redis"] = type(exc).__name__
        listener = request.app.state.listener
        checks["changes"] = "ok" if listener.subscribed.is_set() else "not subscribed"
    # Failing open, a replica serves without Redis (limits per replica): still ready.
    needed = (
        checks
        if gateway.config.shared is None or gateway.config.shared.failure == "closed"
        else {"database": checks["database"]}
    )
    status = 200 if all(v == "ok" for v in needed.values()) else 503
    body = {"status": "ok" if status == 200 else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=status)


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
        if (refused := refusal(model)) is not None:
            raise refused  # admitted, not listed: say why rather than 404
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
