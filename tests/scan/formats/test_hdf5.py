"""Legacy Keras .h5: the model config is read from HDF5 attributes without h5py at scan time."""

from __future__ import annotations

import base64
import json
import marshal
import os
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proto_builders import EDITS, mutate

from airlock.artifact import ArtifactFile
from airlock.findings import Location, Severity
from airlock.scan.context import Blob, Kind
from airlock.scan.formats.detect import detect
from airlock.scan.formats.hdf5_reader import Hdf5Reader
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner
from stub_context import StubContext

SAMPLES = Path("/work/shared/corpora/peer-samples/modelaudit/tests/assets/samples/keras")


def dense(name: str = "dense") -> dict[str, Any]:
    return {"class_name": "Dense", "config": {"name": name, "units": 2, "activation": "relu"}}


def lambda_layer() -> dict[str, Any]:
    payload = lambda x: os.system("echo pwned") or x  # noqa: E731 - never called
    code = base64.b64encode(marshal.dumps(payload.__code__)).decode()
    config = {"name": "lambda", "function": [code, None, None], "function_type": "lambda"}
    return {"class_name": "Lambda", "config": config}


def sequential(*layers: dict[str, Any]) -> str:
    return json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": list(layers)}})


def write_h5(path: Path, config: str | None, fixed: bool = False, **options: Any) -> Path:
    with h5py.File(path, "w", **options) as handle:
        if config is not None:
            value: Any = np.bytes_(config.encode()) if fixed else config
            handle.attrs["model_config"] = value
            handle.attrs["keras_version"] = "2.15.0"
        handle.create_group("model_weights").create_dataset("kernel", data=np.zeros((4, 2)))
    return path


def scan(path: Path) -> FileResult:
    return Scanner().scan_file(ArtifactFile(path, str(path)))


def worst(result: FileResult) -> Severity | None:
    return max((f.severity for f in result.findings), default=None)


@pytest.mark.parametrize(
    "options",
    [{}, {"libver": "latest"}, {"userblock_size": 512}, {"fixed": True}],
    ids=["default", "latest-format", "user-block", "fixed-length-string"],
)
def test_benign_and_lambda_configs(tmp_path: Path, options: dict[str, Any]) -> None:
    benign = write_h5(tmp_path / "benign.h5", sequential(dense()), **options)
    result = scan(benign)
    assert result.kind == Kind.HDF5.value
    assert result.findings == ()
    evil = write_h5(tmp_path / "evil.h5", sequential(dense(), lambda_layer()), **options)
    found = scan(evil).findings
    assert [(f.rule_id, f.severity) for f in found] == [("AIR601", Severity.CRITICAL)]
    assert "system" in found[0].evidence and found[0].location.members == ("model_config",)


def test_large_config_in_dense_attribute_storage(tmp_path: Path) -> None:
    layers = [dense(f"dense_{i}") for i in range(2000)] + [lambda_layer()]
    path = write_h5(tmp_path / "big.h5", sequential(*layers), fixed=True, libver="latest")
    assert worst(scan(path)) is Severity.CRITICAL


def test_training_config_is_checked(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "m.h5", sequential(dense()))
    loss = {"module": "os", "class_name": "function", "config": "system"}
    with h5py.File(path, "a") as handle:
        handle.attrs["training_config"] = json.dumps({"loss": loss})
    found = scan(path).findings
    assert [(f.rule_id, f.severity) for f in found] == [("AIR602", Severity.CRITICAL)]


def test_weights_only_file_is_clean(tmp_path: Path) -> None:
    assert scan(write_h5(tmp_path / "model.weights.h5", None)).findings == ()


def test_undecodable_attribute_falls_back_to_the_json(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "evil.h5", sequential(lambda_layer()))
    data = path.read_bytes()
    path.write_bytes(data.replace(b"GCOL", b"XXXX"))
    assert [f.rule_id for f in scan(path).findings] == ["AIR601"]
    path.write_bytes(data.replace(b"GCOL", b"XXXX").replace(b'{"class_name"', b"{'class_name'"))
    assert [f.rule_id for f in scan(path).findings] == ["AIR001"]


def test_magic_after_a_user_block_is_detected(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "u.h5", None, userblock_size=1024)
    assert detect(path.read_bytes()[:4096], "u.h5") is Kind.HDF5


@pytest.mark.skipif(not SAMPLES.exists(), reason="peer corpus not available")
@pytest.mark.parametrize(
    ("sample", "malicious"), [("malicious_lambda.h5", True), ("safe_model.h5", False)]
)
def test_peer_samples(sample: str, malicious: bool) -> None:
    severity = worst(scan(SAMPLES / sample))
    assert (severity is not None and severity >= Severity.HIGH) is malicious


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("seed") / "seed.h5"
    return write_h5(path, sequential(dense(), lambda_layer())).read_bytes()


@settings(max_examples=150, deadline=None, derandomize=True)
@given(edits=EDITS)
def test_mutated_files_never_raise(seed: bytes, edits: list[tuple[int, int, int]]) -> None:
    data = mutate(seed, edits)
    started = time.monotonic()
    list(Hdf5Reader().scan(Blob(data, "f.h5", Location(), "f.h5"), StubContext()))
    assert time.monotonic() - started < 1.0


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.binary(max_size=1024), st.sampled_from([0, 512]))
def test_random_bytes_after_the_magic_never_raise(data: bytes, at: int) -> None:
    raw = b"\x00" * at + b"\x89HDF\r\n\x1a\n" + data + b"model_config\x00" + data
    list(Hdf5Reader().scan(Blob(raw, "r.h5", Location(), "r.h5"), StubContext()))
