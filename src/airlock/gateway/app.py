"""The FastAPI application: create_app(config, catalog, keys, usage) with no globals, so one
process can hold several gateways (tests run an upstream and a front gateway side by side)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airlock.gateway import heap
from airlock.gateway.access_log import AccessLog
from airlock.gateway.auth import Authenticator, KeyStore
from airlock.gateway.bodies import BodyDeadline, BodyError, BodyLimit
from airlock.gateway.catalog import ModelCatalog
from airlock.gateway.changes import ChangeListener
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import ContextLengthError, EngineError
from airlock.gateway.errors import (
    BadRequest,
    ContextLengthExceeded,
    GatewayError,
    MethodNotAllowed,
    RouteNotFound,
)
from airlock.gateway.lifecycle import ModelManager
from airlock.gateway.managed import ManagedEngines
from airlock.gateway.protocol import error_body
from airlock.gateway.quiet import disable_progress_bars
from airlock.gateway.routes import (
    audio,
    chat,
    completions,
    embeddings,
    images,
    rerank,
    responses,
    speech,
    system,
)
from airlock.gateway.state import Gateway, finish_error
from airlock.gateway.unexpected import CatchAll
from airlock.gateway.upstream import UpstreamClient
from airlock.gateway.usage import UsageRecorder


def create_app(
    config: GatewayConfig,
    catalog: ModelCatalog,
    keys: KeyStore,
    usage: UsageRecorder | None = None,
    manager: ModelManager | None = None,
) -> FastAPI:
    gateway = Gateway(
        config=config,
        manager=manager or ModelManager(catalog, config),
        auth=Authenticator(keys, required=config.auth_required),
        usage=usage,
        upstream=UpstreamClient(config.upstreams),
        keys=keys,
    )
    engines = ManagedEngines(config, catalog, gateway.upstream)  # started with the app

    def forget() -> None:
        gateway.auth.forget()
        catalog.forget()

    listener = None if config.shared is None else ChangeListener(config.shared, forget)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import torch

        torch.set_num_threads(config.torch_threads)
        disable_progress_bars()
        heap.settle()
        if listener is not None:
            listener.start()
        gateway.upstream.start_probes()
        engines.start()
        yield
        await engines.close()
        if listener is not None:
            await listener.close()
        gateway.manager.close()
        await gateway.upstream.close()
        await gateway.limits.close()
        if gateway.usage is not None:
            gateway.usage.close()

    app = FastAPI(title="Airlock gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.gateway = gateway
    app.state.listener = listener  # /health/ready asks whether it is subscribed
    for module in (system, chat, completions, responses, embeddings, rerank, audio, images, speech):
        app.include_router(module.router)
    app.add_exception_handler(GatewayError, _gateway_error)  # type: ignore[arg-type]
    app.add_exception_handler(EngineError, _engine_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(BodyError, _body_error)  # type: ignore[arg-type]
    app.add_middleware(CatchAll)  # innermost middleware: the access log sees its 500
    app.add_middleware(BodyLimit, default=config.max_request_bytes, audio=config.max_audio_bytes)
    app.add_middleware(BodyDeadline, seconds=config.body_timeout_s)
    app.add_middleware(AccessLog, log_format=config.log_format)  # added last: outermost
    return app


def _respond(request: Request, error: GatewayError) -> JSONResponse:
    finish_error(request, error.status)
    return JSONResponse(error_body(error), status_code=error.status, headers=error.headers)


async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
    return _respond(request, exc)


async def _engine_error(request: Request, exc: EngineError) -> JSONResponse:
    kind = ContextLengthExceeded if isinstance(exc, ContextLengthError) else BadRequest
    return _respond(request, kind(str(exc), param=exc.param))


async def _body_error(request: Request, exc: BodyError) -> JSONResponse:
    return _respond(request, exc.error)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    if isinstance(exc.body, dict) and isinstance(exc.body.get("model"), str):
        request.state.model = exc.body["model"]  # for the log, usage and metrics
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return _respond(
        request,
        BadRequest(f"{where or 'request'}: {first.get('msg', 'invalid')}", param=where or None),
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return _respond(request, RouteNotFound(f"Unknown request URL: {where}."))
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        error: GatewayError = MethodNotAllowed(
            f"Method not allowed: {where}; this route accepts {allowed or 'other methods'}."
        )
        error.headers = {"Allow": allowed} if allowed else {}
        return _respond(request, error)
    error = GatewayError(str(exc.detail))
    error.status = exc.status_code
    return _respond(request, error)
