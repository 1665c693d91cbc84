"""Text generation shared by chat and completions: stop sequences, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.responses import StreamingResponse

from airlock.gateway.engines.interface import Capability, Generation, GenerationStream
from airlock.gateway.errors import BadRequest, GatewayError, Timeout
from airlock.gateway.lifecycle import Loaded
from airlock.gateway.protocol import _Sampling, error_body, usage
from airlock.gateway.state import Call

_END = object()


def sampling(body: _Sampling, limit: int) -> dict[str, Any]:
    """The Generation settings of a request; 400 for a max_tokens above the gateway's limit."""
    asked = body.max_completion_tokens or body.max_tokens
    max_tokens = asked or min(256, limit)
    if max_tokens > limit:
        raise BadRequest(f"max_tokens is {max_tokens}; at most {limit}", param="max_tokens")
    return {
        "max_tokens": max_tokens,
        "default_max_tokens": asked is None,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "seed": body.seed,
    }


class StopScanner:
    """Cuts the output at the first stop sequence, holding back text that could start one."""

    def __init__(self, stops: list[str]) -> None:
        self._stops = stops
        self._hold = max((len(s) for s in stops), default=1) - 1
        self._buffer = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        self._buffer += piece
        hits = [i for i in (self._buffer.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._buffer = self._buffer[: min(hits)], ""
            return out
        cut = max(0, len(self._buffer) - self._hold)
        out, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return out

    def flush(self) -> str:
        out, self._buffer = self._buffer, ""
        return out


@dataclass
class Outcome:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"


@dataclass
class Started:
    """A generation whose prompt is tokenized and checked against the model's context; no
    token is generated until `generate` iterates it."""

    loaded: Loaded
    request: Generation
    stream: GenerationStream
    deadline: float  # the event loop's clock: the request timeout counts from the start


async def start(loaded: Loaded, request: Generation) -> Started:
    """Tokenize the prompt and check it (400 for a prompt longer than the context) before a
    response is started, so that a stream never begins for a request that cannot run."""
    if Capability.CHAT not in loaded.engine.capabilities:
        raise BadRequest(f"model '{loaded.model.name}' does not generate text", param="model")
    deadline = asyncio.get_running_loop().time() + loaded.timeout_s
    async with _exclusive(loaded, deadline):
        stream: GenerationStream = await loaded.run(loaded.engine.generate, request)
    return Started(loaded, request, stream, deadline)


@asynccontextmanager
async def _exclusive(loaded: Loaded, deadline: float) -> AsyncIterator[None]:
    """One generation per model at a time (they would only compete for the same cores)."""
    remaining = deadline - asyncio.get_running_loop().time()
    try:
        async with asyncio.timeout(max(remaining, 0.001)):
            await loaded.exclusive.acquire()
    except TimeoutError:
        raise Timeout(f"the request waited longer than {loaded.timeout_s:g} s") from None
    try:
        yield
    finally:
        loaded.exclusive.release()


async def generate(started: Started, stops: list[str], outcome: Outcome) -> AsyncIterator[str]:
    """Text pieces, stop sequences applied; `outcome` is complete once the iterator ends.

    The whole request, queueing included, is bounded by the request timeout. The model thread
    starts on the first piece asked for, so a stream that is never read runs nothing.
    """
    loaded, request, stream = started.loaded, started.request, started.stream
    loop = asyncio.get_running_loop()
    scanner = StopScanner(stops)
    outcome.prompt_tokens = stream.prompt_tokens
    try:
        async with _exclusive(loaded, started.deadline):
            while not scanner.stopped:
                remaining = started.deadline - loop.time()
                try:
                    async with asyncio.timeout(max(remaining, 0.001)):
                        piece = await asyncio.to_thread(next, stream.pieces, _END)
                except TimeoutError:
                    raise Timeout(f"the request took longer than {loaded.timeout_s:g} s") from None
                if piece is _END:
                    break
                if text := scanner.feed(str(piece)):
                    yield text
            if not scanner.stopped and (rest := scanner.flush()):
                yield rest
            if scanner.stopped:
                # The generator thread stops at its next token; count what it had produced.
                request.cancel.set()
                await asyncio.to_thread(_drain, stream)
            outcome.completion_tokens = stream.completion_tokens
            outcome.finish_reason = "stop" if scanner.stopped else stream.finish_reason
    finally:
        request.cancel.set()  # stop sequence, timeout, or a client that went away


def _drain(stream: GenerationStream) -> None:
    for _ in stream.pieces:
        pass


async def whole(call: Call, body: _Sampling, request: Generation) -> tuple[str, Outcome]:
    """The complete text of a non-streamed request, its usage recorded."""
    outcome = Outcome()
    async with call.gateway.manager.use(body.model) as loaded:
        started = await start(loaded, request)
        text = "".join([p async for p in generate(started, body.stops(), outcome)])
    call.finish(200, outcome.prompt_tokens, outcome.completion_tokens)
    return text, outcome


@dataclass(frozen=True)
class ChunkShape:
    """How one API spells its stream: the chunk object and its choices."""

    object: str
    opening: dict[str, Any] | None  # a choice sent before the first piece, if any
    piece: Callable[[str], dict[str, Any]]  # text -> choice
    closing: Callable[[str], dict[str, Any]]  # finish_reason -> choice


async def streamed(
    call: Call, body: _Sampling, request: Generation, head: dict[str, Any], shape: ChunkShape
) -> StreamingResponse:
    """Server-sent events, the model held (and counted in flight) until the stream ends."""
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    stack = AsyncExitStack()
    loaded = await stack.enter_async_context(call.gateway.manager.use(body.model))
    try:
        started = await start(loaded, request)
    except BaseException:
        await stack.aclose()
        raise
    chunk = {**head, "object": shape.object}
    events = _events(call, stack, started, body.stops(), chunk, include_usage, shape)
    return StreamingResponse(events, media_type="text/event-stream")


async def _events(
    call: Call,
    stack: AsyncExitStack,
    started: Started,
    stops: list[str],
    chunk: dict[str, Any],
    include_usage: bool,
    shape: ChunkShape,
) -> AsyncIterator[bytes]:
    outcome = Outcome()
    status = 200
    try:
        if shape.opening is not None:
            yield sse({**chunk, "choices": [shape.opening]})
        async for piece in generate(started, stops, outcome):
            yield sse({**chunk, "choices": [shape.piece(piece)]})
        yield sse({**chunk, "choices": [shape.closing(outcome.finish_reason)]})
        if include_usage:
            tokens = usage(outcome.prompt_tokens, outcome.completion_tokens)
            yield sse({**chunk, "choices": [], "usage": tokens})
        yield DONE
    except GatewayError as exc:  # headers are sent: the error goes in the stream
        status = exc.status
        yield sse(error_body(exc))
    finally:
        await stack.aclose()
        call.finish(status, outcome.prompt_tokens, outcome.completion_tokens)


def sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


DONE = b"data: [DONE]\n\n"
