"""A Hugging Face Hub mirror of the admitted models: `HF_ENDPOINT=http://airlock:8000` and
`from_pretrained("org/name")`, `snapshot_download`, `SentenceTransformer("org/name")` download
admitted versions only, checked against their manifests as they are served (docs/mirror.md).

    routes.py   the Hub API routes (model info, tree, resolve) and the Mirror state
    lookup.py   MirrorIndex.find: which admitted version a request gets (the one place)
    hub_json.py the Hub's JSON documents, from a version's manifest
    serving.py  verified streaming, ranges from private verified copies
    errors.py   errors as the Hub sends them (X-Error-Code), which the clients understand
"""

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

__all__ = ["mount"]


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
