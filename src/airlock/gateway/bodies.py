"""Request bodies: a size limit (413) and a deadline (408), both enforced as the body is read.

Both raise `BodyError` from inside `receive`. It is a Starlette HTTPException on purpose:
FastAPI turns any other exception raised while it reads a body into "400 There was an error
parsing the body" (which is how an oversized chunked body used to get a 400), but passes
HTTPExceptions on as they are, to the app's handler, which answers the GatewayError inside.
The answer says `Connection: close`: the rest of the body is never read, so the connection
cannot carry another request."""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airlock.gateway.errors import BodyTimeout, GatewayError, TooLarge


class BodyError(StarletteHTTPException):
    """A GatewayError met while the body is read."""

    def __init__(self, error: GatewayError) -> None:
        error.headers = {**error.headers, "Connection": "close"}
        super().__init__(error.status, error.message, error.headers)
        self.error = error


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
        # Audio uploads only: /v1/audio/speech is a JSON body of at most 4096 characters.
        uploads = scope["path"] in ("/v1/audio/transcriptions", "/v1/audio/translations")
        limit = self.audio if uploads else self.default
        length = dict(scope["headers"]).get(b"content-length")
        # A body declared too large is refused at its first read, before any byte of it is
        # taken: through the app, so that the answer is counted against the caller's key.
        declared = int(length) if length is not None and length.isdigit() else 0
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if declared > limit:
                raise BodyError(TooLarge(f"the request body is larger than {limit} bytes"))
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyError(TooLarge(f"the request body is larger than {limit} bytes"))
            return message

        await self.app(scope, counted, send)


class BodyDeadline:
    """408 when the whole body has not arrived `seconds` after the headers: a client that
    trickles its body (or sends none of a declared one) holds no connection past that."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        complete = False

        async def timed() -> Message:
            nonlocal complete
            if complete:  # later reads wait for a disconnect while the answer streams
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyError(
                    BodyTimeout(f"the request body did not arrive within {self.seconds:g} s")
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed, send)
