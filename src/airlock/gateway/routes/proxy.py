"""Relay a request for an upstream model as it came, and its answer as it comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Response
from fastapi.responses import StreamingResponse

from airlock.gateway.state import Call
from airlock.gateway.upstream import Files


async def relay(
    call: Call, path: str, body: dict[str, Any], files: Files | None = None
) -> Response:
    client = call.gateway.upstream
    if body.get("stream") and files is None:
        status, chunks = await client.stream(call.model, path, body)

        async def events() -> AsyncIterator[bytes]:
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                call.finish(status)

        return StreamingResponse(events(), status_code=status, media_type="text/event-stream")
    response = await client.post(call.model, path, body, files)
    usage: dict[str, Any] = {}
    if response.is_success and "json" in response.headers.get("content-type", ""):
        usage = response.json().get("usage") or {}
    call.finish(
        response.status_code,
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )
    return Response(
        response.content,
        status_code=response.status_code,
        media_type=response.headers.get("content-type", "application/json"),
    )
