"""ONNX: external-data paths that leave the model folder, links, custom-op domains, subgraphs."""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from proto_builders import EDITS, bfield, mutate, vfield

from airlock.artifact import ArtifactFile
from airlock.findings import Location, Severity
from airlock.scan.context import Blob, Kind
from airlock.scan.formats.detect import detect
from airlock.scan.formats.onnx_reader import OnnxReader
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner
from stub_context import StubContext


def scan(path: Path) -> FileResult:
    return Scanner().scan_file(ArtifactFile(path, str(path)))


def external_tensor(name: str, location: str) -> TensorProto:
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[4])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        tensor.external_data.add(key=key, value=value)
    return tensor


def model(
    initializers: Sequence[TensorProto] = (),
    nodes: list[onnx.NodeProto] | None = None,
    functions: Sequence[onnx.FunctionProto] = (),
    opsets: tuple[tuple[str, int], ...] = (("", 17),),
) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4])
    graph = helper.make_graph(
        nodes or [helper.make_node("Identity", ["X"], ["Y"])], "g", [x], [y], list(initializers)
    )
    opset_imports = [helper.make_opsetid(domain, version) for domain, version in opsets]
    return helper.make_model(graph, opset_imports=opset_imports, functions=list(functions))


def save(folder: Path, proto: onnx.ModelProto, name: str = "model.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(proto.SerializeToString())
    return path


def by_rule(result: FileResult, rule_id: str) -> list[Severity]:
    return [f.severity for f in result.findings if f.rule_id == rule_id]


def test_in_folder_external_data_is_clean(tmp_path: Path) -> None:
    weights = numpy_helper.from_array(np.ones(512, np.float32), "W")
    add = helper.make_node("Add", ["X", "W"], ["Y"])
    proto = model([weights], [add])
    path = tmp_path / "model.onnx"
    onnx.save_model(
        proto, path, save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    assert (tmp_path / "weights.bin").exists()
    result = scan(path)
    assert result.kind == Kind.ONNX.value and result.inspected
    assert result.findings == ()


@pytest.mark.parametrize(
    "location",
    ["../../etc/passwd", "/etc/passwd", "C:\\Windows\\win.ini", "\\\\host\\share\\w", "a/../../b"],
)
def test_external_data_leaving_the_folder_is_high(tmp_path: Path, location: str) -> None:
    result = scan(save(tmp_path, model([external_tensor("W", location)])))
    assert by_rule(result, "AIR611") == [Severity.HIGH]
    assert location in result.findings[0].evidence


def test_symlinked_data_file_pointing_outside(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    folder = tmp_path / "model"
    path = save(folder, model([external_tensor("W", "weights.bin")]))
    (folder / "weights.bin").symlink_to(outside)
    assert by_rule(scan(path), "AIR611") == [Severity.HIGH]


def test_symlinked_folder_and_in_folder_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "w.bin").write_bytes(b"\x00" * 16)
    folder = tmp_path / "model"
    path = save(
        folder, model([external_tensor("A", "data/w.bin"), external_tensor("B", "alias.bin")])
    )
    (folder / "data").symlink_to(elsewhere, target_is_directory=True)
    (folder / "real.bin").write_bytes(b"\x00" * 16)
    (folder / "alias.bin").symlink_to(folder / "real.bin")
    result = scan(path)
    assert by_rule(result, "AIR611") == [Severity.HIGH]  # data/ leads out
    assert by_rule(result, "AIR612") == [Severity.HIGH]  # alias.bin stays inside


def test_hard_linked_data_file(tmp_path: Path) -> None:
    outside = tmp_path / "other" / "secret.bin"
    outside.parent.mkdir()
    outside.write_bytes(b"\x00" * 16)
    folder = tmp_path / "model"
    path = save(folder, model([external_tensor("W", "weights.bin")]))
    os.link(outside, folder / "weights.bin")
    assert by_rule(scan(path), "AIR612") == [Severity.HIGH]


def test_custom_domains_medium_and_runtime_contrib_info(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Backdoor", ["X"], ["T"], domain="com.evil"),
        helper.make_node("FusedMatMul", ["T", "T"], ["U"], domain="com.microsoft"),
        helper.make_node("MyFn", ["U"], ["Y"], domain="local"),
    ]
    local = helper.make_function(
        "local", "MyFn", ["a"], ["b"], [helper.make_node("Identity", ["a"], ["b"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    opsets = (("", 17), ("com.evil", 1), ("com.microsoft", 1), ("local", 1))
    result = scan(save(tmp_path, model(nodes=nodes, functions=[local], opsets=opsets)))
    found = {f.evidence: f.severity for f in result.findings if f.rule_id == "AIR613"}
    assert found == {"Backdoor": Severity.MEDIUM, "FusedMatMul": Severity.INFO}


def test_nested_if_branch_initializer_is_walked(tmp_path: Path) -> None:
    out = helper.make_tensor_value_info("Z", TensorProto.FLOAT, [4])
    branch = helper.make_graph(
        [helper.make_node("Identity", ["W"], ["Z"])], "then", [], [out],
        [external_tensor("W", "/etc/shadow")],
    )  # fmt: skip
    other = helper.make_graph([helper.make_node("Identity", ["X"], ["Z"])], "else", [], [out])
    cond = numpy_helper.from_array(np.array(True), "C")
    node = helper.make_node("If", ["C"], ["Y"], then_branch=branch, else_branch=other)
    result = scan(save(tmp_path, model([cond], [node])))
    assert [f.evidence for f in result.findings if f.rule_id == "AIR611"] == ["/etc/shadow"]


def test_subgraph_nesting_is_bounded() -> None:
    graph = bfield(1, bfield(4, "Identity"))
    for _ in range(40):  # graph > node(1) > attribute(5) > g(6) > graph ...
        graph = bfield(1, bfield(4, "If") + bfield(5, bfield(6, graph)))
    escaping = external_tensor("W", "/etc/passwd").SerializeToString()
    data = vfield(1, 8) + bfield(7, graph + bfield(5, escaping))  # walking goes on after
    found = list(OnnxReader().scan(Blob(data, "m.onnx", Location(), "m.onnx"), StubContext()))
    assert [f.rule_id for f in found] == ["AIR003", "AIR611"]


def test_truncated_model_is_unparseable(tmp_path: Path) -> None:
    data = model([external_tensor("W", "weights.bin")]).SerializeToString()
    path = tmp_path / "model.onnx"
    path.write_bytes(data[:-7])
    result = scan(path)
    assert result.kind == Kind.ONNX.value
    assert by_rule(result, "AIR001") == [Severity.HIGH]


def test_detection_by_content_is_strict() -> None:
    data = model().SerializeToString()
    assert detect(data, "model.onnx") is Kind.ONNX
    assert detect(data, "renamed.bin") is Kind.ONNX
    assert detect(pickle.dumps({"a": 1}, protocol=2), "model.onnx") is Kind.PICKLE
    assert detect(b"\x08\x07\x12\x03abc\xff\xff", "x.bin") is not Kind.ONNX
    assert detect(b"\x08\x07" + b"\x99" * 64, "model.onnx") is not Kind.ONNX


@settings(max_examples=200, deadline=None, derandomize=True)
@given(EDITS, st.sampled_from(["plain", "external", "nested"]))
def test_mutated_models_never_raise(edits: list[tuple[int, int, int]], seed_name: str) -> None:
    seeds = {
        "plain": model(),
        "external": model([external_tensor("W", "../w.bin")]),
        "nested": model(
            nodes=[helper.make_node("Loop", ["X"], ["Y"], body=model().graph, domain="x.y")]
        ),
    }
    data = mutate(seeds[seed_name].SerializeToString(), edits)
    blob = Blob(data, "fuzz.onnx", Location(), "fuzz.onnx")
    started = time.monotonic()
    list(OnnxReader().scan(blob, StubContext()))
    detect(data, "fuzz.onnx")
    assert time.monotonic() - started < 1.0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes) -> None:
    list(OnnxReader().scan(Blob(data, "r.onnx", Location(), "r.onnx"), StubContext()))
