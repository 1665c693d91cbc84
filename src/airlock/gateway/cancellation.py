"""Work that was given up stops. A request's long work (tokenizing, generating, transcribing)
runs on its model's one long-work thread with the request's cancel token. A timeout, a client
that goes away, or a caller that stops reading sets the token; the engine stops at its next
step, and the next request's work starts on that thread only once it has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from starlette.requests import Request

from airlock.gateway.engines.interface import Cancelled, CancelToken
from airlock.gateway.errors import ClientClosed, Timeout
from airlock.gateway.lifecycle import Loaded

T = TypeVar("T")


def deadline(loaded: Loaded) -> float:
    """When the request times out, on the event loop's clock: queueing counts."""
    return asyncio.get_running_loop().time() + loaded.timeout_s


def _timeout(loaded: Loaded) -> Timeout:
    return Timeout(f"the request took longer than {loaded.timeout_s:g} s")


async def run(
    loaded: Loaded, fn: Callable[..., T], *args: Any, cancel: CancelToken, until: float
) -> T:
    """`fn(*args)` on the long-work thread by `until`; past it (or if the caller is cancelled)
    the token is set and 504 answered without waiting for the engine's step to end."""
    future = asyncio.get_running_loop().run_in_executor(loaded.exclusive, fn, *args)
    try:
        async with asyncio.timeout_at(until):
            return await future  # cancelling it drops a job that has not started yet
    except TimeoutError:
        raise _timeout(loaded) from None
    finally:
        if not future.done() or future.cancelled():
            cancel.set()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


async def pieces(
    loaded: Loaded, source: Iterator[T], cancel: CancelToken, until: float
) -> AsyncGenerator[T, None]:
    """The items of `source` (text pieces, encoded audio), produced on the long-work thread as
    fast as the engine makes them (a slow reader never holds the model). Stopping early or
    passing `until` (504) sets the token; the engine stops at its next step and the thread
    closes `source`."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (shutdown): nobody is reading
            cancel.set()

    def produce() -> None:
        try:
            for piece in source:
                put(piece)
                if cancel.is_set():
                    break
        except Exception as exc:  # raised in the reader, below
            put(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator's own cleanup (an engine's helper thread joined)
            put(_END)

    future = loop.run_in_executor(loaded.exclusive, produce)
    ended = False
    try:
        while True:
            try:
                async with asyncio.timeout_at(until):
                    item = await queue.get()
            except TimeoutError:
                raise _timeout(loaded) from None
            if item is _END:
                ended = True
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)
    finally:
        if not ended:
            cancel.set()
            future.cancel()  # a job still waiting for the thread never starts


@asynccontextmanager
async def client_watch(request: Request, cancel: CancelToken) -> AsyncIterator[None]:
    """While the block runs, a client that disconnects sets `cancel` and interrupts the block
    (a wait for the model's thread ends at once, freeing the request's place in the queue); the
    block then ends in ClientClosed (499: recorded, never sent). For answers sent whole; a
    stream's own disconnect ends its body iterator."""
    handler = asyncio.current_task()
    assert handler is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        # The body was read before the handler ran: what comes next is the disconnect.
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone = True
        cancel.set()
        # The handler waits inside the block whenever this runs (the watch ends with it).
        handler.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        yield
    except (Cancelled, asyncio.CancelledError) as exc:
        if not gone:
            raise
        if isinstance(exc, asyncio.CancelledError):
            handler.uncancel()
        raise _closed() from None
    finally:
        watcher.cancel()


def _closed() -> ClientClosed:
    return ClientClosed("the client closed the connection before the answer was complete")
