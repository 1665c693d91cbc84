"""One model load, with hostile files and slow loaders in mind: verify the bytes into a private
copy, make room in the memory budget, start the engine on the copy.

- The bytes are verified before anything is unloaded: a tampered model unloads nothing. Room is
  made only then, before the engine loads, so the weights in memory never pass the budget
  (loading first and unloading after would hold both). An engine that fails after that has
  unloaded idle models, which load again on their next request.
- A refusal is remembered (refusals.py): forever for bytes that are not the admitted ones, for
  RETRY_S for an engine that failed, while the files and the record stay the same. So a
  request for a tampered model is answered from a stat of its files, not a copy of them.
- Any exception from the engine loader is a 503 `model_load_failed` with the copy removed; the
  client gets the exception's type (our own EngineError's words), the server log the rest,
  path and traceback included: a private copy's path is never shown to a client.
- A load is bounded by its deadline (the load timeout): the copy stops between chunks; an
  engine still loading is given up on, and when its thread ends, whenever that is, its engine
  is closed and its copy removed. Its weights count toward the budget until then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from airlock.gateway import heap
from airlock.gateway.catalog import AdmittedModel
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import Engine, EngineError
from airlock.gateway.errors import ModelLoadRefused
from airlock.gateway.loading import CopyTimeout, IntegrityError, VerifiedCopy, verified_copy
from airlock.gateway.refusals import FileState, Refusals, file_state
from airlock.gateway.scratch import Scratch

T = TypeVar("T")
log = logging.getLogger(__name__)

# How long an engine that failed to load stays refused with the same files: its cause may lie
# outside them (memory, a library), but retrying on every request would copy the model each time.
RETRY_S = 30.0
# Loads run on threads of their own: one that hangs in a read or in a loader can only hold these,
# never the threads the rest of the gateway runs on.
LOAD_THREADS = 4


class Loads:
    def __init__(self, config: GatewayConfig, loader: Callable[[Path], Engine]) -> None:
        self._loader = loader
        self._scratch = Scratch(config.scratch_dir)
        self._refusals = Refusals()
        self._threads = ThreadPoolExecutor(LOAD_THREADS, thread_name_prefix="load")
        # Engines loading, or given up on and still running: their weights count in the budget.
        self.reserved: list[AdmittedModel] = []

    async def load(
        self, model: AdmittedModel, deadline: float, make_room: Callable[[AdmittedModel], None]
    ) -> tuple[Engine, VerifiedCopy]:
        """The engine and its verified copy; raises ModelLoadRefused, or TimeoutError when the
        copy passes `deadline` (the event loop's clock; the caller cancels the wait at it)."""
        state = file_state(model)
        self._refusals.check(model, state)
        copy = await self._copy(model, state, deadline)
        try:
            make_room(model)
        except BaseException:
            copy.remove()
            raise
        self.reserved.append(model)
        try:
            # Cancelled (the deadline): the thread goes on, and _discard ends the load.
            engine = await self._in_thread(
                self._start, copy.path, abandon=partial(self._discard, model, copy)
            )
        except Exception as exc:
            self.reserved.remove(model)
            copy.remove()
            error = self._failed(model, copy, exc)
            self._refusals.remember(model, state, error, RETRY_S)
            raise error from None
        self.reserved.remove(model)
        return engine, copy

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._scratch.close()

    async def _copy(self, model: AdmittedModel, state: FileState, deadline: float) -> VerifiedCopy:
        folder = self._scratch.folder
        # The copy's thread keeps time.monotonic(); the loop's clock may be another's (uvloop).
        ends = time.monotonic() + deadline - asyncio.get_running_loop().time()
        try:
            return await self._in_thread(verified_copy, model, folder, ends, abandon=_remove_copy)
        except IntegrityError as exc:
            log.warning("airlock: refusing to load model %r: %s", model.name, exc)
            error = ModelLoadRefused(str(exc))
            self._refusals.remember(model, state, error)
            raise error from None
        except CopyTimeout:
            raise TimeoutError from None  # the caller's answer: the load timeout
        except OSError as exc:  # writing the copy: a full disk, a scratch folder gone
            log.error("airlock: cannot copy model %r into %s", model.name, folder, exc_info=exc)
            error = ModelLoadRefused(
                f"model '{model.name}' cannot be loaded: its private copy could not be written "
                f"({exc.strerror or type(exc).__name__})",
                code="model_load_failed",
            )
            self._refusals.remember(model, state, error, RETRY_S)
            raise error from None

    def _start(self, folder: Path) -> Engine:
        engine = self._loader(folder)
        heap.settle()
        return engine

    def _failed(self, model: AdmittedModel, copy: VerifiedCopy, exc: Exception) -> ModelLoadRefused:
        log.error("airlock: model %r failed to load from %s", model.name, copy.path, exc_info=exc)
        words = str(exc)
        if isinstance(exc, EngineError) and self._scratch.folder.name not in words:
            why = words
        else:  # a library's message may name files in the private copy
            why = f"its engine raised {type(exc).__name__} (details in the server log)"
        return ModelLoadRefused(
            f"model '{model.name}' cannot be loaded: {why}", code="model_load_failed"
        )

    def _discard(
        self, model: AdmittedModel, copy: VerifiedCopy, done: asyncio.Future[Engine]
    ) -> None:
        """The end of a load given up on: engine closed, copy removed, its room given back."""
        self.reserved.remove(model)
        failure = None if done.cancelled() else done.exception()
        if failure is not None:
            log.error(
                "airlock: model %r failed to load, past its timeout", model.name, exc_info=failure
            )
        elif not done.cancelled():
            done.result().close()
            heap.release()
        copy.remove()

    async def _in_thread(
        self, fn: Callable[..., T], *args: Any, abandon: Callable[[asyncio.Future[T]], None]
    ) -> T:
        """`fn(*args)` on a load thread. A thread cannot be stopped: when the wait is cancelled,
        `abandon` gets the thread's future once it ends, to undo what it did."""
        future = asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(abandon)
            raise


def _remove_copy(done: asyncio.Future[VerifiedCopy]) -> None:
    if not done.cancelled() and done.exception() is None:
        done.result().remove()
