"""Relay requests for a model to OpenAI-compatible servers, streaming included: upstream URLs
given with `--upstream` (vLLM, Ollama, llama.cpp server, TGI, another Airlock), and the engine
processes Airlock starts itself (managed.py). A model served by several of them is routed per
request (routing.py); a backend that fails is marked down and probed back.

What each name's weights are: a managed engine loads the verified private copy, so its model
is served with integrity enforced; a plain upstream loads whatever it was pointed at, which
Airlock never sees, and is reported as such (`integrity` on /v1/models)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from airlock.gateway.config import Upstream
from airlock.gateway.errors import UpstreamError
from airlock.gateway.routing import Backend, Router, affinity_key

log = logging.getLogger(__name__)

# Multipart uploads: field name -> (file name, bytes, content type).
Files = list[tuple[str, tuple[str, bytes, str]]]

_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=10.0)
_PROBE_TIMEOUT = httpx.Timeout(5.0)
# Answers that say the backend, not the request, is at fault: they count toward marking it down.
_BACKEND_FAULTS = frozenset({502, 503, 504})

ENFORCED = "enforced by Airlock: the engine loads the verified private copy of the admitted files"
NOT_ENFORCED = "integrity not enforced by Airlock: the upstream loads its own weights"


@dataclass
class Route:
    router: Router
    managed: bool  # an engine Airlock started on the verified copy
    kind: str = "upstream"  # "upstream", or the managed engine's kind
    starting: str = ""  # why no backend is up yet (a managed engine still starting)

    @property
    def integrity(self) -> str:
        return ENFORCED if self.managed else NOT_ENFORCED


class UpstreamClient:
    def __init__(self, upstreams: tuple[Upstream, ...]) -> None:
        self._routes: dict[str, Route] = {}
        for upstream in upstreams:
            route = self._routes.setdefault(upstream.name, Route(Router(), managed=False))
            route.router.backends.append(Backend(upstream.url, upstream.api_key, upstream.url))
        self._client = httpx.AsyncClient(timeout=_TIMEOUT)
        self._prober: asyncio.Task[None] | None = None

    @property
    def names(self) -> list[str]:
        return sorted(self._routes)

    def serves(self, model: str) -> bool:
        return model in self._routes

    def route(self, model: str) -> Route | None:
        return self._routes.get(model)

    def add_managed(self, model: str, kind: str) -> Route:
        """A name served by engine processes; their backends are added as they come up."""
        route = Route(Router(), managed=True, kind=kind, starting="its engine is starting")
        self._routes[model] = route
        return route

    def start_probes(self, every_s: float = 1.0) -> None:
        """Probe backends marked down until they answer again (from the running event loop)."""
        if self._prober is None:
            self._prober = asyncio.get_running_loop().create_task(self._probe_loop(every_s))

    async def post(
        self, model: str, path: str, body: dict[str, Any], files: Files | None = None
    ) -> httpx.Response:
        """A complete (non-streamed) answer; the caller relays status and body as they are.
        With `files`, the body goes as multipart form fields (audio uploads)."""
        route, key, tried = self._routes[model], affinity_key(body), list[Backend]()
        while True:
            backend = self._choose(model, route, key, tried)
            backend.in_flight += 1
            try:
                url = backend.url.rstrip("/") + path
                if files is not None:
                    response = await self._client.post(
                        url, data=body, files=files, headers=_headers(backend)
                    )
                else:
                    response = await self._client.post(url, json=body, headers=_headers(backend))
            except httpx.ConnectError as exc:
                # Nothing was sent: another backend may take it.
                route.router.mark_down(backend)
                log.warning("airlock: %s for %r is down: %r", backend.label, model, exc)
                tried.append(backend)
                continue
            except httpx.HTTPError as exc:
                route.router.failed(backend)
                raise UpstreamError(f"upstream for '{model}' failed: {exc!r}") from None
            finally:
                backend.in_flight -= 1
            self._judge(route, backend, response.status_code)
            return response

    async def stream(
        self, model: str, path: str, body: dict[str, Any]
    ) -> tuple[int, AsyncIterator[bytes]]:
        """The upstream's status and its body as it arrives (server-sent events relayed as is)."""
        route, key, tried = self._routes[model], affinity_key(body), list[Backend]()
        while True:
            backend = self._choose(model, route, key, tried)
            request = self._client.build_request(
                "POST", backend.url.rstrip("/") + path, json=body, headers=_headers(backend)
            )
            backend.in_flight += 1
            try:
                response = await self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                backend.in_flight -= 1
                route.router.mark_down(backend)
                log.warning("airlock: %s for %r is down: %r", backend.label, model, exc)
                tried.append(backend)
                continue
            except httpx.HTTPError as exc:
                backend.in_flight -= 1
                route.router.failed(backend)
                raise UpstreamError(f"upstream for '{model}' failed: {exc!r}") from None
            self._judge(route, backend, response.status_code)
            break

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                backend.in_flight -= 1
                await response.aclose()

        return response.status_code, relay()

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        await self._client.aclose()

    def _choose(self, model: str, route: Route, key: str | None, tried: list[Backend]) -> Backend:
        backend = route.router.choose(key, exclude=tried)
        if backend is None:
            # A managed engine not up yet: 503, retry shortly. Upstreams that all fail: 502.
            starting = route.managed and not route.router.backends
            why = route.starting if starting else "every backend is down"
            error = UpstreamError(f"model '{model}' is not available now: {why}; retry shortly")
            if starting:
                error.status = 503
            error.headers = {"Retry-After": "5"}
            raise error
        return backend

    def _judge(self, route: Route, backend: Backend, status: int) -> None:
        if status in _BACKEND_FAULTS:
            route.router.failed(backend)
        else:
            route.router.succeeded(backend)

    async def _probe_loop(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            for route in list(self._routes.values()):
                for backend in route.router.probe_due():
                    if await self.probe(backend):
                        route.router.succeeded(backend)

    async def probe(self, backend: Backend) -> bool:
        """Whether the backend answers its model list (as vLLM, llama.cpp and TGI all do)."""
        try:
            response = await self._client.get(
                backend.url.rstrip("/") + "/models",
                headers=_headers(backend),
                timeout=_PROBE_TIMEOUT,
            )
        except httpx.HTTPError:
            return False
        return response.is_success


def _headers(backend: Backend) -> dict[str, str]:
    return {"Authorization": f"Bearer {backend.api_key}"} if backend.api_key else {}
