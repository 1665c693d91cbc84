"""A Llama 3.1 model folder (card, license text, a tiny safetensors file) and a policy writer."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from tests.license.conftest import reference_text, write_model


def write_safetensors(path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))


@pytest.fixture
def llama_model(tmp_path: Path) -> Path:
    root = write_model(tmp_path / "llama", "license: llama3.1", reference_text("llama3.1"))
    write_safetensors(root / "model.safetensors")
    return root


@pytest.fixture
def write_policy(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(body: str) -> Path:
        path = tmp_path / "policy.yaml"
        path.write_text("version: 1\n" + body, encoding="utf-8")
        return path

    return write
