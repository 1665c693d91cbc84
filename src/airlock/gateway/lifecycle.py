"""Model lifecycle: lazy load (hash-then-load), least-recently-used unload under a memory budget
estimated from the manifest's weight bytes, a bounded queue per model (429 + Retry-After when
full), request timeouts, and one worker thread per model so that torch calls never block the
event loop. A newly admitted version of a loaded name replaces it on the next request.
How one load goes (verify, make room, start the engine; timeouts, failures) is in loads.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from airlock.gateway import heap
from airlock.gateway.batching import Batcher
from airlock.gateway.catalog import AdmittedModel, ModelCatalog, refusal
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.detect import load_engine
from airlock.gateway.engines.interface import Engine
from airlock.gateway.errors import ModelLoadRefused, Timeout, TooManyRequests, model_not_found
from airlock.gateway.loading import VerifiedCopy
from airlock.gateway.loads import Loads

T = TypeVar("T")
EngineLoader = Callable[[Path], Engine]


@dataclass(eq=False)  # identity: a retired copy is found by `is`, not by equal fields
class Loaded:
    """A loaded model: its engine, its worker thread, its batchers, its private verified copy."""

    model: AdmittedModel
    engine: Engine
    copy: VerifiedCopy
    timeout_s: float
    batch_config: tuple[int, float, int]  # (max items, max wait in seconds, parallel batches)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
    )
    # The model's slot for long work (generations, transcriptions), one job at a time: work that
    # was given up ends its current step before the next request's job starts (cancellation.py).
    exclusive: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-long")
    )
    batchers: dict[str, Batcher[Any, Any]] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)
    users: int = 0  # requests holding this very version (the name's queue counts waiters too)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the model's worker thread, within the request timeout."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            raise Timeout(f"the request took longer than {self.timeout_s:g} s") from None

    def close(self) -> None:
        for batcher in self.batchers.values():
            batcher.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.exclusive.shutdown(wait=False, cancel_futures=True)
        self.engine.close()
        self.copy.remove()
        heap.release()


class ModelManager:
    def __init__(
        self, catalog: ModelCatalog, config: GatewayConfig, loader: EngineLoader | None = None
    ) -> None:
        self._catalog = catalog
        self._config = config
        self._loads = Loads(config, loader or partial(load_engine, prepack=config.prepack_kernels))
        self._loaded: dict[str, Loaded] = {}
        self._in_flight: dict[str, int] = {}
        self._load_locks: dict[str, asyncio.Lock] = {}
        # Replaced versions still serving in-flight requests; closed when the last one ends.
        self._retiring: list[Loaded] = []

    @property
    def loaded(self) -> list[str]:
        return sorted(self._loaded)

    def catalog_names(self) -> list[str]:
        return self._catalog.names()

    def admitted(self, name: str) -> AdmittedModel:
        model = self._catalog.get(name)
        if model is None:
            raise model_not_found(name)
        return model

    @asynccontextmanager
    async def use(self, name: str) -> AsyncIterator[Loaded]:
        """The loaded model for one request; counts toward the model's bounded queue."""
        model = self.admitted(name)
        if (refused := refusal(model)) is not None:
            raise refused
        waiting = self._in_flight.get(name, 0)
        if waiting >= self._config.queue_size:
            raise TooManyRequests(
                f"The queue for model '{name}' is full ({waiting} requests); retry shortly",
                retry_after=1.0,
                code="model_queue_full",
            )
        self._in_flight[name] = waiting + 1
        loaded: Loaded | None = None
        try:
            loaded = await self._ensure_loaded(model)
            loaded.last_used = time.monotonic()
            yield loaded
        finally:
            self._in_flight[name] -= 1
            if loaded is not None:
                self._release(loaded)

    async def _ensure_loaded(self, model: AdmittedModel) -> Loaded:
        """The loaded current version of `model`, with one more user counted. Waiting for it,
        behind another request's load of it or for its own, is bounded by the load timeout."""
        lock = self._load_locks.setdefault(model.name, asyncio.Lock())
        deadline = asyncio.get_running_loop().time() + self._config.load_timeout_s
        try:
            async with asyncio.timeout_at(deadline), lock:
                loaded = self._loaded.get(model.name)
                if loaded is not None and loaded.model.revision != model.revision:
                    # A new version was admitted: new requests get it, and the old one is
                    # unloaded (private copy removed) once the requests still using it finish.
                    self._retire(self._loaded.pop(model.name))
                    loaded = None
                if loaded is None:
                    loaded = await self._load(model, deadline)
                    self._loaded[model.name] = loaded
                loaded.users += 1
                return loaded
        except TimeoutError:
            raise ModelLoadRefused(
                f"model '{model.name}' did not load within the load timeout "
                f"({self._config.load_timeout_s:g} s); retry later",
                code="model_load_timeout",
            ) from None

    def _retire(self, old: Loaded) -> None:
        if old.users == 0:
            old.close()
        else:
            self._retiring.append(old)

    def _release(self, loaded: Loaded) -> None:
        loaded.users -= 1
        if loaded.users == 0 and loaded in self._retiring:
            self._retiring.remove(loaded)
            loaded.close()

    async def _load(self, model: AdmittedModel, deadline: float) -> Loaded:
        self._make_room(model, evict=False)  # refused before copying, if it cannot fit
        engine, copy = await self._loads.load(model, deadline, partial(self._make_room, evict=True))
        workers = max(1, self._config.model_workers)
        batching = (self._config.batch_max_size, self._config.batch_max_wait_s, workers)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model")
        return Loaded(model, engine, copy, self._config.request_timeout_s, batching, executor)

    def _make_room(self, model: AdmittedModel, *, evict: bool) -> None:
        """Raises unless `model` fits the budget once idle models (least recently used first)
        are unloaded; unloads them if `evict`."""
        budget = self._config.memory_budget_bytes
        if model.weight_bytes > budget:
            raise ModelLoadRefused(
                f"model '{model.name}' needs {model.weight_bytes / 1e9:.2f} GB of weights, "
                f"more than the memory budget ({budget / 1e9:.2f} GB)",
                code="memory_budget_exceeded",
            )
        held = [i.model for i in [*self._loaded.values(), *self._retiring]] + self._loads.reserved
        used = sum(m.weight_bytes for m in held)
        for name in sorted(self._loaded, key=lambda n: self._loaded[n].last_used):
            if used + model.weight_bytes <= budget:
                return
            if self._in_flight.get(name, 0) == 0:
                used -= self._loaded[name].model.weight_bytes
                if evict:
                    self._loaded.pop(name).close()
        if used + model.weight_bytes > budget:
            raise TooManyRequests(
                "the memory budget is taken by models that are serving requests; retry shortly",
                retry_after=1.0,
                code="memory_budget_busy",
            )

    def close(self) -> None:
        for loaded in [*self._loaded.values(), *self._retiring]:
            loaded.close()
        self._loaded.clear()
        self._retiring.clear()
        self._loads.close()
