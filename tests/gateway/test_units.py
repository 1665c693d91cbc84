"""Lifecycle (LRU under a memory budget, bounded queue), batching, hash-then-load, keys CLI."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from airlock.cli import main
from airlock.gateway.batching import Batcher
from airlock.gateway.catalog import AdmittedModel, StaticCatalog
from airlock.gateway.config import GatewayConfig
from airlock.gateway.engines.interface import Engine, EngineError
from airlock.gateway.errors import Timeout, TooManyRequests
from airlock.gateway.lifecycle import ModelManager
from airlock.gateway.loading import IntegrityError, verified_copy
from airlock.provenance.manifest import FileDigest


class _Fake(Engine):
    closed = 0

    def close(self) -> None:
        _Fake.closed += 1


def _model(tmp_path: Path, name: str, size: int) -> AdmittedModel:
    folder = tmp_path / name
    folder.mkdir()
    data = b"w" * size
    (folder / "model.safetensors").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return AdmittedModel(name, folder, (FileDigest("model.safetensors", size, digest),))


def test_lru_unload_under_budget(tmp_path: Path) -> None:
    models = [_model(tmp_path, n, 400) for n in ("a", "b", "c")]
    manager = ModelManager(
        StaticCatalog(models), GatewayConfig(memory_budget_bytes=1000), lambda _: _Fake()
    )

    async def scenario() -> list[list[str]]:
        seen = []
        for name in ("a", "b", "a", "c"):
            async with manager.use(name):
                pass
            seen.append(manager.loaded)
        return seen

    assert asyncio.run(scenario()) == [["a"], ["a", "b"], ["a", "b"], ["a", "c"]]
    manager.close()


def test_bounded_queue(tmp_path: Path) -> None:
    catalog = StaticCatalog([_model(tmp_path, "a", 10)])
    manager = ModelManager(catalog, GatewayConfig(queue_size=2), lambda _: _Fake())

    async def scenario() -> None:
        async with manager.use("a"), manager.use("a"):
            with pytest.raises(TooManyRequests) as error:
                async with manager.use("a"):
                    pass
            assert error.value.headers == {"Retry-After": "1"}
        async with manager.use("a"):  # the queue drained
            pass

    asyncio.run(scenario())
    manager.close()


class _Switchable:
    """A catalog whose one model can be re-admitted (replaced) while the manager runs."""

    def __init__(self, model: AdmittedModel) -> None:
        self.model = model

    def get(self, name: str) -> AdmittedModel | None:
        return self.model if name == self.model.name else None

    def names(self) -> list[str]:
        return [self.model.name]


def test_new_version_replaces_old_once_in_flight_requests_end(tmp_path: Path) -> None:
    (tmp_path / "v2").mkdir()
    catalog = _Switchable(replace(_model(tmp_path, "a", 10), version=1, digest="d1"))
    manager = ModelManager(catalog, GatewayConfig(), lambda _: _Fake())

    async def scenario() -> None:
        async with manager.use("a") as old:
            catalog.model = replace(_model(tmp_path / "v2", "a", 20), version=2, digest="d2")
            async with manager.use("a") as new:
                assert new is not old and new.model.version == 2
                assert old.copy.path.is_dir()  # the first request still uses version 1
            assert old.copy.path.is_dir()
        assert not old.copy.path.exists() and new.copy.path.is_dir()
        async with manager.use("a") as again:
            assert again is new
        assert manager.loaded == ["a"]

    asyncio.run(scenario())
    manager.close()


def test_batcher_merges_concurrent_requests() -> None:
    calls: list[int] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(len(items))
        return [i * 2 for i in items]

    async def scenario() -> list[list[int]]:
        batcher: Batcher[int, int] = Batcher(run, max_size=100, max_wait_s=0.05)
        results = await asyncio.gather(*(batcher.submit([i, i + 1]) for i in range(0, 10, 2)))
        batcher.close()
        return list(results)

    assert asyncio.run(scenario()) == [[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]]
    assert calls == [10]


def test_batcher_fails_only_the_request_at_fault() -> None:
    """A batch that fails, whatever the error, re-runs its requests one by one: only the
    request with the bad item fails. A timeout fails the batch: its work is still running."""
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        calls.append(items)
        if 13 in items:
            raise EngineError("input too long")
        if 99 in items:
            raise RuntimeError("an engine bug")
        if 7 in items:
            raise Timeout("the request took longer than 1 s")
        return [i * 2 for i in items]

    async def scenario(bad: int) -> list[object]:
        batcher: Batcher[int, int] = Batcher(run, max_size=100, max_wait_s=0.05)
        requests = [batcher.submit([1]), batcher.submit([bad]), batcher.submit([3])]
        results = await asyncio.gather(*requests, return_exceptions=True)
        batcher.close()
        return [r if isinstance(r, list) else type(r).__name__ for r in results]

    assert asyncio.run(scenario(13)) == [[2], "EngineError", [6]]
    assert calls == [[1, 13, 3], [1], [13], [3]]
    calls.clear()
    assert asyncio.run(scenario(99)) == [[2], "RuntimeError", [6]]
    assert calls == [[1, 99, 3], [1], [99], [3]]
    calls.clear()
    assert asyncio.run(scenario(7)) == ["Timeout"] * 3
    assert calls == [[1, 7, 3]]


def test_verified_copy_is_private_and_refuses_changes(tmp_path: Path) -> None:
    model = _model(tmp_path, "m", 100)
    copy = verified_copy(model)
    assert (copy.path.stat().st_mode & 0o777) == 0o700
    assert (copy.path / "model.safetensors").read_bytes() == b"w" * 100
    copy.remove()
    (model.source / "model.safetensors").write_bytes(b"x" * 100)
    with pytest.raises(IntegrityError, match=r"model.safetensors does not match"):
        verified_copy(model)
    (model.source / "model.safetensors").unlink()
    (model.source / "model.safetensors").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(IntegrityError, match="cannot read"):
        verified_copy(model)


def test_keys_cli(airlock_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--name", "cli-key", "--models", "minilm", "--rpm", "5"]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    assert token.startswith("ak-") and len(token) > 40
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "cli-key" in listing and token not in listing and "rpm=5" in listing
    assert main(["keys", "create", "--name", "cli-key"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["keys", "revoke", "cli-key"]) == 0
    assert main(["keys", "revoke", "nope"]) == 2
    assert main(["usage", "--format", "json"]) == 0


class _Weights:
    """Model internals in a reference cycle: only the cycle collector can free them."""

    def __init__(self) -> None:
        self.me = self


class _CyclicWeights(Engine):
    def __init__(self) -> None:
        self.weights: _Weights | None = _Weights()

    def close(self) -> None:
        self.weights = None  # as every engine drops its model


def test_heap_frozen_after_load_and_unloaded_cycles_freed(tmp_path: Path) -> None:
    import gc
    import weakref

    catalog = StaticCatalog([_model(tmp_path, n, 400) for n in ("a", "b")])
    manager = ModelManager(
        catalog, GatewayConfig(memory_budget_bytes=500), lambda _: _CyclicWeights()
    )
    weights: list[weakref.ref[_Weights]] = []

    async def scenario() -> None:
        for name in ("a", "b"):
            async with manager.use(name) as loaded:
                assert isinstance(loaded.engine, _CyclicWeights) and loaded.engine.weights
                weights.append(weakref.ref(loaded.engine.weights))
                # Full collections no longer walk what the load left alive.
                assert gc.get_freeze_count() > 0

    try:
        asyncio.run(scenario())
        # "b" evicted "a" (the budget holds one): its cycle is freed despite the frozen heap.
        assert weights[0]() is None and weights[1]() is not None
    finally:
        manager.close()
        gc.unfreeze()
