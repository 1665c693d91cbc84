"""A registry in a fresh AIRLOCK_HOME, models admitted through `airlock admit`, and policies
written on the spot: what re-vetting is tested against."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.registry.conftest import servable_model

from airlock.cli import main
from airlock.registry.store import Record, Registry


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRLOCK_DATABASE_URL", raising=False)
    return tmp_path / "home"


@pytest.fixture
def registry(home: Path) -> Iterator[Registry]:
    opened = Registry()
    yield opened
    opened.close()


def model(folder: Path, reply: str = "ok") -> Path:
    """A tiny causal LM under Apache-2.0 that the default policy admits (and that the gateway
    tests' scripted engine answers for with `reply`)."""
    servable_model(folder)
    (folder / "engine.json").write_text(json.dumps({"name": folder.name, "reply": reply}))
    return folder


def admit(folder: Path, name: str, *extra: str) -> None:
    assert main(["admit", str(folder), "--name", name, *extra]) == 0


def policy(folder: Path, name: str, body: str = "") -> Path:
    """A policy file: the default one, with `body` (YAML lines) on top of it."""
    path = folder / f"{name}.yaml"
    path.write_text(f"version: 1\nname: {name}\n{body}")
    return path


DENY_APACHE = "license:\n  denied: [apache-2.0]\n"


def only(registry: Registry, name: str) -> Record:
    (record,) = registry.versions(name)
    return record
