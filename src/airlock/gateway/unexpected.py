"""The last resort: an exception no handler answered becomes a JSON 500 in the OpenAI error shape
(one generic line and the request id; never a traceback or a path, which stay in the server's
log) and is counted in metrics and usage like any other error."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airlock.gateway.errors import InternalError
from airlock.gateway.protocol import error_body
from airlock.gateway.state import finish_error

LOGGER = logging.getLogger("airlock.gateway")


class CatchAll:
    """Inside the access log (which then logs the 500), around everything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            request = Request(scope)
            request_id = getattr(request.state, "request_id", None)
            LOGGER.exception(
                "unexpected error in %s %s (%s)", scope["method"], scope["path"], request_id
            )
            finish_error(request, InternalError.status)
            if started:  # a response is under way: it can only be cut short
                raise
            error = InternalError(
                "The server had an error while processing your request; it is logged"
                + (f" under request id {request_id}." if request_id else ".")
            )
            response = JSONResponse(error_body(error), status_code=error.status)
            await response(scope, receive, send)
