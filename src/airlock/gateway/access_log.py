"""One access log line per request, written by the app (uvicorn's own access log is off, so
lines are never doubled): time, method, path, status, latency, the key's NAME (never the key
or its hash), model and request id, as text or as one JSON object per line."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = logging.getLogger("airlock.access")
LogFormat = Literal["text", "json"]
REQUEST_ID_HEADER = b"x-request-id"  # as the OpenAI API names it


class AccessLog:
    """Outermost app middleware: times the request, sees its status as it is sent, and logs
    once the response is complete (a stream: after its last event)."""

    def __init__(self, app: ASGIApp, log_format: LogFormat = "text") -> None:
        self.app = app
        self.log_format = log_format

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = f"req_{uuid.uuid4().hex}"
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # unless a response starts: an exception no handler answered

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            fields = _fields(scope, state, status, started, request_id)
            LOGGER.info(format_line(fields, self.log_format))


def _fields(
    scope: Scope, state: dict[str, Any], status: int, started: float, request_id: str
) -> dict[str, Any]:
    key = state.get("key")
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "latency_ms": round((time.perf_counter() - started) * 1000.0, 1),
        "key": getattr(key, "name", None),
        "model": state.get("model"),
        "request_id": request_id,
    }


def format_line(fields: dict[str, Any], log_format: LogFormat) -> str:
    if log_format == "json":
        return json.dumps(fields, separators=(",", ":"))
    return (
        f"{fields['time']} {fields['method']} {fields['path']} {fields['status']} "
        f"{fields['latency_ms']:.1f}ms key={fields['key'] or '-'} "
        f"model={fields['model'] or '-'} request_id={fields['request_id']}"
    )
