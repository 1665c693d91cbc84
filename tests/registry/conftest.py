"""Every registry test runs on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`),
each PostgreSQL test in a schema of its own that is dropped afterwards."""

from __future__ import annotations

import json
import os
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from tests.vet.conftest import CLEAN, MALICIOUS

from airlock.dossier.build import build_dossier
from airlock.dossier.model import Dossier
from airlock.policy.evaluate import Verdict, evaluate
from airlock.policy.model import Policy
from airlock.policy.schema import default_policy
from airlock.registry.db import DATABASE_ENV

POSTGRES_URL = os.environ.get(
    "AIRLOCK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


_UNREACHABLE = _postgres_reachable()


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'airlock.db'}"
        return
    if _UNREACHABLE is not None:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable: {_UNREACHABLE}")
    schema = f"airlock_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def registry_env(registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI reads the registry URL from the environment."""
    monkeypatch.setenv(DATABASE_ENV, registry_url)
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    return registry_url


@pytest.fixture(scope="session")
def policy() -> Policy:
    return default_policy()


@pytest.fixture(scope="session")
def clean(policy: Policy) -> tuple[Dossier, Verdict]:
    dossier = build_dossier(CLEAN, policy.dossier_options())
    return dossier, evaluate(dossier, policy)


@pytest.fixture(scope="session")
def malicious(policy: Policy) -> tuple[Dossier, Verdict]:
    dossier = build_dossier(MALICIOUS, policy.dossier_options())
    return dossier, evaluate(dossier, policy)


def servable_model(folder: Path) -> Path:
    """A tiny causal LM as admission sees it: config.json, safetensors weights, a license."""
    folder.mkdir(parents=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny\n")
    return folder
