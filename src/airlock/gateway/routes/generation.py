"""Text generation shared by chat and completions: stop sequences, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from airlock.gateway import cancellation
from airlock.gateway.engines.interface import (
    CancelToken,
    Capability,
    EngineError,
    Generation,
    GenerationStream,
    TokenLogprob,
)
from airlock.gateway.errors import (
    BadRequest,
    ClientClosed,
    GatewayError,
    StreamFailed,
    UnsupportedValue,
)
from airlock.gateway.lifecycle import Loaded
from airlock.gateway.protocol import _Sampling, error_body, usage
from airlock.gateway.state import Call

LOGGER = logging.getLogger(__name__)


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
    logprobs: list[TokenLogprob] = field(default_factory=list)  # when asked for


def kept_logprobs(logprobs: list[TokenLogprob], text: str) -> list[TokenLogprob]:
    """The tokens of `text`, the answer a stop sequence may have cut short."""
    kept: list[TokenLogprob] = []
    length = 0
    for entry in logprobs:
        length += len(entry.token)
        if length > len(text):
            break
        kept.append(entry)
    return kept


def logprobs_setting(stream: bool, asked: bool, top: int | None) -> int | None:
    """The engine's logprobs setting (None: none), 400 where it cannot be honoured."""
    if not asked:
        if top:
            raise BadRequest("top_logprobs needs logprobs: true", param="top_logprobs")
        return None
    if stream:
        raise UnsupportedValue(
            "Unsupported value: 'logprobs' is not supported with 'stream' on this gateway's "
            "embedded models; leave out stream.",
            param="logprobs",
        )
    return top or 0


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
    until = cancellation.deadline(loaded)
    stream: GenerationStream = await cancellation.run(
        loaded, loaded.engine.generate, request, cancel=request.cancel, until=until
    )
    return Started(loaded, request, stream, until)


async def generate(
    started: Started, stops: list[str], outcome: Outcome
) -> AsyncGenerator[str, None]:
    """Text pieces, stop sequences applied; `outcome` holds the tokens generated so far however
    the iterator ends, and the finish reason once it ends normally.

    The whole request, queueing included, is bounded by the request timeout (504). The model
    works only while the pieces are wanted: a stop sequence, a timeout or a reader that goes
    away stops it at its next step.
    """
    loaded, request, stream = started.loaded, started.request, started.stream
    scanner = StopScanner(stops)
    outcome.prompt_tokens = stream.prompt_tokens
    source = cancellation.pieces(loaded, stream.pieces, request.cancel, started.deadline)
    try:
        async with aclosing(source) as pieces:
            async for piece in pieces:
                if scanner.stopped:
                    continue  # what the engine made before it saw the token
                if text := scanner.feed(piece):
                    yield text
                if scanner.stopped:
                    request.cancel.set()
        if not scanner.stopped and (rest := scanner.flush()):
            yield rest
        outcome.finish_reason = "stop" if scanner.stopped else stream.finish_reason
        outcome.logprobs = stream.logprobs
    finally:
        outcome.completion_tokens = stream.completion_tokens


async def whole(
    http: Request, call: Call, model: str, stops: list[str], request: Generation
) -> tuple[str, Outcome]:
    """The complete text of a non-streamed request (see `wholes`)."""
    return (await wholes(http, call, model, stops, [request]))[0]


async def wholes(
    http: Request, call: Call, model: str, stops: list[str], requests: list[Generation]
) -> list[tuple[str, Outcome]]:
    """The complete texts of a non-streamed request, one per choice (`n`), made one after the
    other on the loaded model; usage records the prompt once and every choice's tokens, and
    the real status, also for a timeout (504) or a client that went away (499)."""
    done: list[tuple[str, Outcome]] = []
    outcome = Outcome()
    try:
        async with call.gateway.manager.use(model) as loaded:
            for request in requests:
                outcome = Outcome()
                async with cancellation.client_watch(http, request.cancel):
                    started = await start(loaded, request)
                    text = "".join([p async for p in generate(started, stops, outcome)])
                done.append((text, outcome))
    except GatewayError as exc:
        prompt, completion = _totals([*(o for _, o in done), outcome])
        call.finish(exc.status, prompt, completion)
        raise
    call.finish(200, *_totals([o for _, o in done]))
    return done


def _totals(outcomes: list[Outcome]) -> tuple[int, int]:
    """Prompt tokens (read once, as OpenAI bills them) and completion tokens of all choices."""
    prompt = max((o.prompt_tokens for o in outcomes), default=0)
    return prompt, sum(o.completion_tokens for o in outcomes)


def choices(request: Generation, n: int) -> list[Generation]:
    """One request per choice: each its own cancel token and, with a seed, its own seed (the
    same seed would make the same text)."""
    return [
        replace(
            request,
            seed=None if request.seed is None else request.seed + i,
            cancel=CancelToken(),
        )
        for i in range(n)
    ]


@dataclass(frozen=True)
class ChunkShape:
    """How one API spells its stream: the chunk object and its choices. `piece` may hold text
    back (a tool call is sent once it is complete) and return no choice."""

    object: str
    opening: dict[str, Any] | None  # a choice sent before the first piece, if any
    piece: Callable[[str], list[dict[str, Any]]]  # text -> choices
    closing: Callable[[str], list[dict[str, Any]]]  # finish_reason -> the last choices


# What a stream's events are made of: the text pieces (stop sequences applied) and the outcome
# they fill in (final once the pieces end) -> the encoded events, the last error event aside.
Render = Callable[[AsyncIterator[str], Outcome], AsyncIterator[bytes]]


async def streamed(
    http: Request,
    call: Call,
    body: _Sampling,
    request: Generation,
    head: dict[str, Any],
    shape: ChunkShape,
) -> StreamingResponse:
    """Chat and completions chunks as server-sent events."""
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    chunk = {**head, "object": shape.object}

    async def render(pieces: AsyncIterator[str], outcome: Outcome) -> AsyncIterator[bytes]:
        if shape.opening is not None:
            yield sse({**chunk, "choices": [shape.opening]})
        async for piece in pieces:
            for choice in shape.piece(piece):
                yield sse({**chunk, "choices": [choice]})
        for choice in shape.closing(outcome.finish_reason):
            yield sse({**chunk, "choices": [choice]})
        if include_usage:
            tokens = usage(outcome.prompt_tokens, outcome.completion_tokens)
            yield sse({**chunk, "choices": [], "usage": tokens})
        yield DONE

    return await stream_events(http, call, body.model, request, body.stops(), render)


async def stream_events(
    http: Request,
    call: Call,
    model: str,
    request: Generation,
    stops: list[str],
    render: Render,
    error_event: Callable[[GatewayError], bytes] | None = None,
) -> StreamingResponse:
    """Server-sent events, the model held (and counted in flight) until the stream ends."""
    stack = AsyncExitStack()
    loaded = await stack.enter_async_context(call.gateway.manager.use(model))
    try:
        async with cancellation.client_watch(http, request.cancel):
            started = await start(loaded, request)
    except BaseException:
        await stack.aclose()
        raise
    events = _events(call, stack, started, stops, render, error_event or _error_event)
    return StreamingResponse(events, media_type="text/event-stream")


def _error_event(error: GatewayError) -> bytes:
    return sse(error_body(error))


async def _events(
    call: Call,
    stack: AsyncExitStack,
    started: Started,
    stops: list[str],
    render: Render,
    error_event: Callable[[GatewayError], bytes],
) -> AsyncIterator[bytes]:
    """The stream's events. Headers are sent by then, so an error becomes the last event (the
    openai client raises it as an APIError) in place of the normal end; usage records the
    tokens generated and the real status, 499 when the client went away."""
    outcome = Outcome()
    status = 200
    try:
        async with aclosing(generate(started, stops, outcome)) as pieces:
            async for event in render(pieces, outcome):
                yield event
    except (asyncio.CancelledError, GeneratorExit):
        status = ClientClosed.status
        raise
    except Exception as exc:
        error = _stream_error(exc)
        status = error.status
        yield error_event(error)
    finally:
        await stack.aclose()
        call.finish(status, outcome.prompt_tokens, outcome.completion_tokens)


def _stream_error(exc: Exception) -> GatewayError:
    """What a failure after the headers is called: the answer it would have had before them."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, EngineError):
        return BadRequest(str(exc), param=exc.param)
    LOGGER.error("generation failed after the stream started", exc_info=exc)
    return StreamFailed("the model failed while generating; the answer is incomplete")


def sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


DONE = b"data: [DONE]\n\n"
