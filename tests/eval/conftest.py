"""Models admitted into a temporary AIRLOCK_HOME as `airlock admit` does (the real MiniLM, tiny
random Llama, cross-encoder and Whisper made on the spot), and a live gateway over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airlock.gateway.config import GatewayConfig
from gateway import tiny_models
from gateway.conftest import Live, admit, airlock_home, minilm_folder, serve

__all__ = ["airlock_home"]


@pytest.fixture(scope="session")
def minilm(airlock_home: Path) -> str:
    admit(minilm_folder(), "minilm")
    return "minilm"


@pytest.fixture(scope="session")
def cross_encoder(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    admit(tiny_models.make_cross_encoder(tmp_path_factory.mktemp("rerank") / "m"), "rerank")
    return "rerank"


@pytest.fixture(scope="session")
def llama(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    admit(tiny_models.make_llama(tmp_path_factory.mktemp("llama") / "m"), "llama")
    return "llama"


@pytest.fixture(scope="session")
def whisper(airlock_home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("whisper")
    admit(tiny_models.make_whisper(root / "m", root / "work"), "whisper")
    return "whisper"


@pytest.fixture(scope="module")
def gateway(minilm: str, cross_encoder: str, llama: str, whisper: str) -> Iterator[Live]:
    """A gateway over the registry, started once every model is admitted (its catalog caches
    the registry for a moment)."""
    yield from serve(GatewayConfig(request_timeout_s=60))
