"""The FastAPI application: create_app(config, catalog, keys, usage) with no globals, so one
process can hold several gateways (tests run an upstream and a front gateway side by side)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from airlock.gateway import heap
from airlock.gateway.access_log import AccessLog
from airlock.gateway.auth import Authenticator, KeyStore
from airlock.gateway.catalog import ModelCatalog
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import ContextLengthError, EngineError
from airlock.gateway.errors import (
    BadRequest,
    ContextLengthExceeded,
    GatewayError,
    MethodNotAllowed,
    RouteNotFound,
    TooLarge,
)
from airlock.gateway.lifecycle import ModelManager
from airlock.gateway.protocol import error_body
from airlock.gateway.quiet import disable_progress_bars
from airlock.gateway.routes import audio, chat, completions, embeddings, rerank, system
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
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import torch

        torch.set_num_threads(config.torch_threads)
        disable_progress_bars()
        heap.settle()
        yield
        gateway.manager.close()
        await gateway.upstream.close()
        if gateway.usage is not None:
            gateway.usage.close()

    app = FastAPI(title="Airlock gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.gateway = gateway
    for module in (system, chat, completions, embeddings, rerank, audio):
        app.include_router(module.router)
    app.add_exception_handler(GatewayError, _gateway_error)  # type: ignore[arg-type]
    app.add_exception_handler(EngineError, _engine_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(CatchAll)  # innermost middleware: the access log sees its 500
    app.add_middleware(BodyLimit, default=config.max_request_bytes, audio=config.max_audio_bytes)
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


class BodyLimit:
    """413 for a body over the limit: from Content-Length up front, else counted as it arrives."""

    def __init__(self, app: ASGIApp, default: int, audio: int) -> None:
        self.app = app
        self.default = default
        self.audio = audio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.audio if scope["path"].startswith("/v1/audio/") else self.default
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            error = TooLarge(f"the request body is larger than {limit} bytes")
            response = JSONResponse(error_body(error), status_code=error.status)
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict[str, object]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(f"the request body is larger than {limit} bytes")
            return dict(message)

        await self.app(scope, counted, send)
