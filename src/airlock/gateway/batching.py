"""Dynamic micro-batching: requests that arrive within a few milliseconds of each other run as
one forward pass, which is where a server beats one-request-at-a-time in-process calls.

A batch joins requests from different clients, so a batch that fails is re-run request by
request: only the request at fault gets the error, the others their results."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from airlock.gateway.errors import Timeout

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Pending(Generic[Item, Result]):
    items: list[Item]
    future: asyncio.Future[list[Result]]


class Batcher(Generic[Item, Result]):
    """Collects items until `max_size` or `max_wait_s` after the first, then runs them together.

    `run` takes the concatenated items and returns one result per item, in order. Up to
    `parallel` batches run at once (one per model worker thread).
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[list[Result]]],
        max_size: int,
        max_wait_s: float,
        parallel: int = 1,
    ) -> None:
        self._run = run
        self._max_size = max_size
        self._max_wait_s = max_wait_s
        self._slots = asyncio.Semaphore(max(1, parallel))
        self._running: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[_Pending[Item, Result]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, items: list[Item]) -> list[Result]:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(items, future))
        return await future

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for task in self._running:
            task.cancel()

    async def _loop(self) -> None:
        while True:
            # Wait for a free slot first: requests keep queueing and form a bigger next batch.
            await self._slots.acquire()
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let requests that arrived together enqueue
            size = len(batch[0].items)
            deadline = asyncio.get_running_loop().time() + self._max_wait_s
            while size < self._max_size:
                if not self._queue.empty():
                    nxt = self._queue.get_nowait()
                else:
                    # While a batch runs, the next one fills up on its own: wait only if asked.
                    timeout = deadline - asyncio.get_running_loop().time()
                    if timeout <= 0:
                        break
                    try:
                        nxt = await asyncio.wait_for(self._queue.get(), timeout)
                    except TimeoutError:
                        break
                batch.append(nxt)
                size += len(nxt.items)
            task = asyncio.get_running_loop().create_task(
                self._execute([p for p in batch if not p.future.done()])
            )
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _execute(self, batch: list[_Pending[Item, Result]]) -> None:
        try:
            await self._execute_batch(batch)
        finally:
            self._slots.release()

    async def _execute_batch(self, batch: list[_Pending[Item, Result]]) -> None:
        if not batch:
            return
        try:
            results = await self._run([item for p in batch for item in p.items])
        except Exception as exc:
            # Any error: an input too long for the model, one a tokenizer refuses, an engine
            # bug that one input triggers. Not a timeout: the model thread still runs the batch,
            # and re-running its requests would only queue more work behind it.
            if len(batch) > 1 and not isinstance(exc, Timeout):
                for p in batch:
                    if not p.future.done():  # a caller that went away needs no retry
                        await self._execute_batch([p])
                return
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        start = 0
        for p in batch:
            end = start + len(p.items)
            if not p.future.done():
                p.future.set_result(results[start:end])
            start = end
