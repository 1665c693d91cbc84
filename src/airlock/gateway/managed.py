"""Engine processes Airlock starts and owns (`airlock serve --engine NAME`): each serves the
newest admitted version of its model from a verified private copy, and requests for the name are
relayed to them (upstream.py, routing.py) with integrity enforced.

For each managed name, from the gateway's start to its stop:

1. Hash-then-load, as for embedded engines (loading.py): every admitted file is hashed while
   copied into this gateway's private 0700 folder; bytes that differ refuse the start (fail
   closed), retried only once the files or the record change.
2. `replicas` engine processes start on that copy (engine_command.py), each on its own loopback
   port with its own key, and join the name's router once their model list answers.
3. An engine that exits is taken out of the router and restarted after a backoff (1 s,
   doubling to 60 s; back to 1 s after it ran a minute). The copy it restarts on stays in the
   private folder, which nothing but this gateway's user can write; it is not re-hashed.
4. Every WATCH_S the record is looked up again: a name removed (or no longer admitted) stops
   its engines and removes its copy; a new version or changed engine options restart them on
   a new copy.
5. The gateway's stop stops every engine (SIGTERM, then SIGKILL) and removes the copies.

Engine processes are not counted in the gateway's memory budget: they hold their weights in
their own memory (vLLM: on GPUs, sized by `gpu_memory_utilization`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

import httpx

from airlock.gateway.catalog import AdmittedModel, ModelCatalog
from airlock.gateway.config import GatewayConfig, ManagedEngine
from airlock.gateway.engine_command import EngineStartError, build, engine_for, gpu_sets
from airlock.gateway.engine_process import EngineProcess, free_port
from airlock.gateway.loading import IntegrityError, VerifiedCopy, verified_copy
from airlock.gateway.refusals import file_state
from airlock.gateway.routing import Backend
from airlock.gateway.scratch import Scratch
from airlock.gateway.upstream import Route, UpstreamClient

log = logging.getLogger(__name__)

WATCH_S = 1.0  # how often the record is looked up again (the catalog caches 2 s)
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
STABLE_S = 60.0  # an engine that ran this long restarts after the first backoff again


def _identity(model: AdmittedModel) -> tuple[object, ...]:
    """What a running engine was started for: a change restarts it."""
    return (model.revision, str(model.source), model.engine_options)


class ManagedEngines:
    def __init__(
        self, config: GatewayConfig, catalog: ModelCatalog, upstream: UpstreamClient
    ) -> None:
        self._config = config
        self._catalog = catalog
        self._routes = {
            spec.name: upstream.add_managed(spec.name, spec.kind) for spec in config.engines
        }
        self._scratch: Scratch | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient()

    def start(self) -> None:
        """Start supervising every managed name (from the running event loop)."""
        if self._config.engines and self._scratch is None:
            self._scratch = Scratch(self._config.scratch_dir)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._supervise(spec)) for spec in self._config.engines]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()
        if self._scratch is not None:
            self._scratch.close()

    async def _supervise(self, spec: ManagedEngine) -> None:
        route = self._routes[spec.name]
        refused: tuple[object, ...] | None = None  # what was refused: files and record
        while True:
            model = self._catalog.get(spec.name)
            if model is None:
                route.starting = "it is not admitted"
                await asyncio.sleep(WATCH_S)
                continue
            seen = (_identity(model), file_state(model))
            if seen == refused:
                await asyncio.sleep(WATCH_S)
                continue
            route.starting = "its engine is starting (verifying its files)"
            copy = await self._verify(spec.name, model, route)
            if copy is None:
                refused = seen
                continue
            refused = None
            try:
                await self._run(spec, model, copy, route)
            finally:
                copy.remove()

    async def _verify(self, name: str, model: AdmittedModel, route: Route) -> VerifiedCopy | None:
        assert self._scratch is not None
        deadline = time.monotonic() + self._config.load_timeout_s
        try:
            return await asyncio.to_thread(verified_copy, model, self._scratch.folder, deadline)
        except Exception as exc:  # IntegrityError, CopyTimeout, OSError (a full disk)
            log.error("airlock: not starting an engine for %r: %s", name, exc)
            route.starting = f"its files cannot be verified ({_short(exc)})"
            return None

    async def _run(
        self, spec: ManagedEngine, model: AdmittedModel, copy: VerifiedCopy, route: Route
    ) -> None:
        """Keep the replicas running until the record changes (or the gateway stops)."""
        options = dict(model.engine_options)
        try:
            engine = engine_for(spec.kind, [f.path for f in model.files])
            route.kind = engine.name  # "auto" resolved, for /v1/models
            gpus = gpu_sets(engine, options, spec.replicas)
        except EngineStartError as exc:
            log.error("airlock: not starting an engine for %r: %s", spec.name, exc)
            route.starting = self._for_client(str(exc))
            await self._until_changed(model)
            return
        replicas = [
            asyncio.get_running_loop().create_task(
                self._replica(spec, model, copy, route, engine_name=engine.name, index=i, gpus=g)
            )
            for i, g in enumerate(gpus)
        ]
        try:
            await self._until_changed(model)
            log.warning("airlock: %r changed in the registry: stopping its engines", spec.name)
        finally:
            for task in replicas:
                task.cancel()
            for task in replicas:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _until_changed(self, model: AdmittedModel) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            current = self._catalog.get(model.name)
            if current is None or _identity(current) != _identity(model):
                return

    async def _replica(
        self,
        spec: ManagedEngine,
        model: AdmittedModel,
        copy: VerifiedCopy,
        route: Route,
        *,
        engine_name: str,
        index: int,
        gpus: list[str] | None,
    ) -> None:
        assert self._scratch is not None
        engine = engine_for(engine_name, [])
        label = f"{engine.name} engine {index + 1}/{spec.replicas} for {spec.name!r}"
        log_path = self._scratch.folder / f"engine-{spec.name.replace('/', '_')}-{index}.log"
        backoff = FIRST_BACKOFF_S
        while True:
            port, key = free_port(), secrets.token_urlsafe(32)
            started = time.monotonic()
            process: EngineProcess | None = None
            backend: Backend | None = None
            why = "its engine stopped"
            try:
                command = build(
                    engine, copy.path, spec.name, dict(model.engine_options), port, key, gpus
                )
                process = EngineProcess(
                    label, command, f"http://127.0.0.1:{port}/v1", key, log_path
                )
                await process.start()
                await process.wait_healthy(self._client, self._config.load_timeout_s)
                backend = Backend(process.base_url, key, label)
                route.router.backends.append(backend)
                log.warning("airlock: %s is up (pid %s, log %s)", label, process.pid, log_path)
                code = await process.wait()
                log.error(
                    "airlock: %s exited with code %s; its log ends: %s",
                    label,
                    code,
                    process.log_tail(),
                )
                why = f"its engine exited with code {code}"
            except EngineStartError as exc:
                log.error("airlock: %s", exc)
                why = self._for_client(str(exc))
            finally:
                if backend is not None:
                    route.router.backends.remove(backend)
                if process is not None:
                    await asyncio.shield(process.stop())
            if time.monotonic() - started > STABLE_S:
                backoff = FIRST_BACKOFF_S
            route.starting = f"{why}; it restarts within {backoff:g} s"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _for_client(self, text: str) -> str:
        """`text` without the private copies' paths (an engine's log names its model file)."""
        if self._scratch is None:
            return text
        return text.replace(str(self._scratch.root), "<private copies>")


def _short(exc: BaseException) -> str:
    """An error for a client: the private copy's path never shown."""
    return str(exc) if isinstance(exc, IntegrityError) else type(exc).__name__
