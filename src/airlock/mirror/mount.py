"""The mirror on the gateway's app: its routes, its error answers, its copies removed at
shutdown (`airlock serve` calls `mount`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airlock.mirror.errors import HubError
from airlock.mirror.lookup import MirrorIndex
from airlock.mirror.routes import Mirror, router
from airlock.mirror.serving import VerifiedFiles
from airlock.registry.store import Registry


def mount(app: FastAPI, registry: Registry, scratch_root: Path | None = None) -> None:
    """Serve the mirror's routes from `app` (a gateway from gateway.app.create_app, whose key
    store and rate limits it shares), from the admitted versions in `registry`."""
    mirror = Mirror(MirrorIndex(registry), VerifiedFiles(scratch_root))
    app.state.mirror = mirror
    app.include_router(router)
    app.add_exception_handler(HubError, _hub_error)  # type: ignore[arg-type]
    _on_shutdown(app, mirror.files.close)


async def _hub_error(_: Request, exc: HubError) -> JSONResponse:
    return exc.response()


def _on_shutdown(app: FastAPI, close: Callable[[], None]) -> None:
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        async with inner(running) as state:
            try:
                yield state
            finally:
                close()

    app.router.lifespan_context = lifespan
