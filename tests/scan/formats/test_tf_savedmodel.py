"""TensorFlow SavedModel / frozen GraphDef: risky ops, routine checkpoint ops, detection."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proto_builders import EDITS, bfield, mutate, vfield

from airlock.artifact import ArtifactFile
from airlock.findings import Location, Severity
from airlock.scan.context import Blob, Kind
from airlock.scan.formats.detect import detect
from airlock.scan.formats.tf_savedmodel_reader import TensorFlowReader, op_rules
from airlock.scan.results import FileResult
from airlock.scan.scanner import Scanner
from stub_context import StubContext

SAMPLES = Path("/work/shared/corpora/peer-samples/modelaudit/tests/assets/samples/tensorflow")


def node(name: str, op: str, attrs: dict[str, str] | None = None) -> bytes:
    encoded = bfield(1, name) + bfield(2, op)
    for key, value in (attrs or {}).items():
        encoded += bfield(5, bfield(1, key) + bfield(2, bfield(2, value)))  # AttrValue.s
    return encoded


def graph_def(*nodes: bytes, functions: tuple[tuple[bytes, ...], ...] = ()) -> bytes:
    library = b"".join(
        bfield(1, bfield(1, bfield(1, "fn")) + b"".join(bfield(3, n) for n in body))
        for body in functions
    )
    return b"".join(bfield(1, n) for n in nodes) + (bfield(2, library) if library else b"")


def saved_model(graph: bytes) -> bytes:
    meta = bfield(1, bfield(4, "serve")) + bfield(2, graph)
    return vfield(1, 1) + bfield(2, meta)


def scan(path: Path) -> FileResult:
    return Scanner().scan_file(ArtifactFile(path, str(path)))


def write(tmp_path: Path, data: bytes, name: str = "saved_model.pb") -> FileResult:
    path = tmp_path / name
    path.write_bytes(data)
    return scan(path)


def worst(result: FileResult) -> Severity | None:
    return max((f.severity for f in result.findings), default=None)


def test_pyfunc_and_readfile_are_reported(tmp_path: Path) -> None:
    graph = graph_def(node("a", "Const"), node("f", "PyFunc"), node("r", "ReadFile"))
    result = write(tmp_path, saved_model(graph))
    assert result.kind == Kind.TF_SAVEDMODEL.value
    found = {f.evidence: f.severity for f in result.findings}
    assert found == {"PyFunc": Severity.CRITICAL, "ReadFile": Severity.HIGH}


def test_ordinary_graph_with_checkpoint_ops_is_info_only(tmp_path: Path) -> None:
    graph = graph_def(
        node("w", "Const"), node("m", "MatMul"), node("s", "SaveV2"), node("r", "RestoreV2"),
        node("r2", "RestoreV2"),
    )  # fmt: skip
    result = write(tmp_path, saved_model(graph))
    assert worst(result) is Severity.INFO
    assert [f.evidence for f in result.findings] == ["SaveV2 (1), RestoreV2 (2)"]


def test_ops_inside_library_functions_are_found(tmp_path: Path) -> None:
    graph = graph_def(node("c", "StatefulPartitionedCall"), functions=((node("w", "WriteFile"),),))
    result = write(tmp_path, saved_model(graph))
    assert [(f.evidence, f.severity) for f in result.findings] == [("WriteFile", Severity.HIGH)]


def test_print_only_reported_when_writing_to_a_file(tmp_path: Path) -> None:
    to_file = node("p", "PrintV2", {"output_stream": "file:///tmp/exfil.txt"})
    to_stderr = node("q", "PrintV2", {"output_stream": "stderr"})
    assert worst(write(tmp_path, saved_model(graph_def(to_file)))) is Severity.HIGH
    assert write(tmp_path, saved_model(graph_def(to_stderr))).findings == ()


def test_frozen_graph_def_by_name_and_structure(tmp_path: Path) -> None:
    data = graph_def(node("in", "Placeholder"), node("py", "EagerPyFunc"))
    assert detect(data, "frozen_graph.pb") is Kind.TF_GRAPHDEF
    assert detect(data, "frozen_graph.bin") is not Kind.TF_GRAPHDEF
    result = write(tmp_path, data, "frozen_graph.pb")
    assert result.kind == Kind.TF_GRAPHDEF.value
    assert worst(result) is Severity.CRITICAL


def test_savedmodel_detection_is_strict() -> None:
    data = saved_model(graph_def(node("a", "Const")))
    assert detect(data, "anything.bin") is Kind.TF_SAVEDMODEL
    headless = data[2:]  # no schema version: only trusted under the usual file name
    assert detect(headless, "saved_model.pb") is Kind.TF_SAVEDMODEL
    assert detect(headless, "other.bin") is not Kind.TF_SAVEDMODEL
    assert detect(pickle.dumps([1, 2], protocol=2), "saved_model.pb") is Kind.PICKLE
    assert detect(vfield(1, 1) + bfield(2, b"pytorch"), "x.bin") is not Kind.TF_SAVEDMODEL


def test_truncated_savedmodel_is_unparseable(tmp_path: Path) -> None:
    result = write(tmp_path, saved_model(graph_def(node("a", "Const")))[:-3])
    assert [f.rule_id for f in result.findings] == ["AIR001"]


def test_op_table_entries_are_complete() -> None:
    rules = op_rules()
    assert rules["PyFunc"].severity is Severity.CRITICAL
    assert all(rule.why and rule.category for rule in rules.values())


@pytest.mark.skipif(not SAMPLES.exists(), reason="peer corpus not available")
@pytest.mark.parametrize(
    ("sample", "malicious"),
    [("malicious_pyfunc/saved_model.pb", True), ("safe_savedmodel/saved_model.pb", False)],
)
def test_peer_samples(sample: str, malicious: bool) -> None:
    severity = worst(scan(SAMPLES / sample))
    assert (severity is not None and severity >= Severity.HIGH) is malicious


SEEDS = (
    saved_model(graph_def(node("a", "PyFunc", {"Tout": "x"}), functions=((node("b", "C"),),))),
    graph_def(node("in", "Placeholder"), node("w", "WriteFile")),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(EDITS, st.sampled_from(SEEDS))
def test_mutated_graphs_never_raise(edits: list[tuple[int, int, int]], seed: bytes) -> None:
    data = mutate(seed, edits)
    started = time.monotonic()
    list(TensorFlowReader().scan(Blob(data, "f.pb", Location(), "f.pb"), StubContext()))
    detect(data, "saved_model.pb")
    detect(data, "graph.pb")
    assert time.monotonic() - started < 1.0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes) -> None:
    list(TensorFlowReader().scan(Blob(data, "r.pb", Location(), "r.pb"), StubContext()))
