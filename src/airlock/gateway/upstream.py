"""Upstream engine: forward requests for a model to an OpenAI-compatible server (vLLM, Ollama,
llama.cpp server, TGI, another Airlock) by URL, streaming included. This is the scale-out path:
a model that needs tensor or pipeline parallelism runs under vLLM, and apps still call Airlock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from airlock.gateway.config import Upstream
from airlock.gateway.errors import UpstreamError

# Multipart uploads: field name -> (file name, bytes, content type).
Files = list[tuple[str, tuple[str, bytes, str]]]

_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=60.0, pool=10.0)


class UpstreamClient:
    def __init__(self, upstreams: tuple[Upstream, ...]) -> None:
        self._upstreams = {u.name: u for u in upstreams}
        self._client = httpx.AsyncClient(timeout=_TIMEOUT)

    @property
    def names(self) -> list[str]:
        return sorted(self._upstreams)

    def serves(self, model: str) -> bool:
        return model in self._upstreams

    async def post(
        self, model: str, path: str, body: dict[str, Any], files: Files | None = None
    ) -> httpx.Response:
        """A complete (non-streamed) answer; the caller relays status and body as they are.
        With `files`, the body goes as multipart form fields (audio uploads)."""
        upstream = self._upstreams[model]
        url = upstream.url.rstrip("/") + path
        try:
            if files is not None:
                return await self._client.post(
                    url, data=body, files=files, headers=_headers(upstream)
                )
            return await self._client.post(url, json=body, headers=_headers(upstream))
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream for '{model}' failed: {exc!r}") from None

    async def stream(
        self, model: str, path: str, body: dict[str, Any]
    ) -> tuple[int, AsyncIterator[bytes]]:
        """The upstream's status and its body as it arrives (server-sent events relayed as is)."""
        upstream = self._upstreams[model]
        request = self._client.build_request(
            "POST", upstream.url.rstrip("/") + path, json=body, headers=_headers(upstream)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream for '{model}' failed: {exc!r}") from None

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        return response.status_code, relay()

    async def close(self) -> None:
        await self._client.aclose()


def _headers(upstream: Upstream) -> dict[str, str]:
    return {"Authorization": f"Bearer {upstream.api_key}"} if upstream.api_key else {}
