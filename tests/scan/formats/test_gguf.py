"""GGUF: files from the real writer (gguf-py) in both byte orders, chat templates found and
analysed, and hand-built corrupt files that must become findings, never allocations or loops."""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFEndian, GGUFWriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Location, Severity
from airlock.scan.context import Blob, Kind
from airlock.scan.formats.gguf_reader import GgufReader
from airlock.scan.scanner import Scanner, _Context

BENIGN = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CANARY = "/tmp/airlock-canary-never-created"
# CVE-2024-34359's shape, with a command that would only touch a canary file.
PAYLOAD = (
    "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch " + CANARY + "') }}"
)


def write_gguf(
    path: Path, templates: dict[str, str] | None = None, endian: GGUFEndian = GGUFEndian.LITTLE
) -> Path:
    writer = GGUFWriter(str(path), "llama", endianess=endian)
    writer.add_name("tiny")
    writer.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "hello"])
    writer.add_array("nested", [[1, 2], [3]])
    for name, template in (templates or {}).items():
        key = "tokenizer.chat_template" + ("" if name == "default" else f".{name}")
        writer.add_string(key, template)
    writer.add_tensor("weight", np.ones((4, 8), dtype=np.float32))
    writer.add_tensor("bias", np.ones(3, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def scan_path(path: Path) -> list[Finding]:
    result = Scanner().scan_file(ArtifactFile(path, path.name))
    assert result.kind == Kind.GGUF.value
    return list(result.findings)


def scan_bytes(data: bytes) -> list[Finding]:
    return list(
        GgufReader().scan(Blob(data, "m.gguf", Location(), "m.gguf"), _Context(Scanner(), "m"))
    )


@pytest.mark.parametrize("endian", [GGUFEndian.LITTLE, GGUFEndian.BIG])
def test_benign_file_is_clean(tmp_path: Path, endian: GGUFEndian) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"default": BENIGN}, endian)
    assert scan_path(path) == []


@pytest.mark.parametrize("endian", [GGUFEndian.LITTLE, GGUFEndian.BIG])
def test_cve_2024_34359_template_is_critical(tmp_path: Path, endian: GGUFEndian) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"default": PAYLOAD}, endian)
    findings = scan_path(path)
    assert max(f.severity for f in findings) == Severity.CRITICAL
    assert {f.rule_id for f in findings} >= {"AIR501"}
    assert not Path(CANARY).exists()


def test_named_templates_are_analysed(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf", {"default": BENIGN, "tool_use": PAYLOAD})
    critical = [f for f in scan_path(path) if f.severity == Severity.CRITICAL]
    assert critical and all("chat_template.tool_use" in f.message for f in critical)
    assert all(f.location.offset for f in critical)


def test_template_list_written_by_gguf_py(tmp_path: Path) -> None:
    writer = GGUFWriter(str(tmp_path / "m.gguf"), "llama")
    writer.add_chat_template(
        [{"name": "default", "template": BENIGN}, {"name": "rag", "template": PAYLOAD}]
    )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    findings = scan_path(tmp_path / "m.gguf")
    assert any(f.rule_id == "AIR501" and "chat_template.rag" in f.message for f in findings)


# Hand-built files: little-endian version 3.


def gstr(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def kv(key: str, kind: int, payload: bytes) -> bytes:
    return gstr(key) + struct.pack("<I", kind) + payload


def gguf(
    kvs: Sequence[bytes],
    tensors: Sequence[bytes] = (),
    version: int = 3,
    n_tensors: int | None = None,
    n_kvs: int | None = None,
) -> bytes:
    counts = (
        len(tensors) if n_tensors is None else n_tensors,
        len(kvs) if n_kvs is None else n_kvs,
    )
    return b"GGUF" + struct.pack("<IQQ", version, *counts) + b"".join(kvs) + b"".join(tensors)


def tensor_info(name: str, dims: list[int], ggml_type: int, offset: int) -> bytes:
    packed = struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
    return gstr(name) + packed + struct.pack("<IQ", ggml_type, offset)


def padded(data: bytes, data_bytes: int, alignment: int = 32) -> bytes:
    return data + b"\0" * (-len(data) % alignment) + b"\0" * data_bytes


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (gguf([], n_kvs=2**63), "AIR001"),  # a count no file can hold
        (gguf([kv("k", 8, struct.pack("<Q", 2**40) + b"abc")]), "AIR001"),  # string past the end
        (gguf([kv("k", 9, struct.pack("<IQ", 4, 10**12))]), "AIR001"),  # 10**12 uint32s
        (gguf([kv("k", 9, struct.pack("<IQ", 8, 10**12))]), "AIR001"),  # 10**12 strings
        (gguf([kv("k", 99, b"\0" * 8)]), "AIR001"),  # unknown value type
        (gguf([kv("k", 9, struct.pack("<IQ", 77, 1))]), "AIR001"),  # unknown element type
        (gguf([], version=7), "AIR001"),
        (gguf([kv("general.name", 8, gstr("tiny"))])[:-2], "AIR001"),  # truncated
        (b"GGUF\x03\x00", "AIR001"),
        (gguf([], n_tensors=1), "AIR001"),
    ],
)
def test_corrupt_files_are_findings(data: bytes, rule: str) -> None:
    start = time.perf_counter()
    findings = scan_bytes(data)
    assert [f.rule_id for f in findings] == [rule]
    assert time.perf_counter() - start < 1


def test_nesting_and_element_limits_are_air003() -> None:
    deep = struct.pack("<IQ", 9, 1) * 6 + struct.pack("<IQ", 0, 0)
    assert [f.rule_id for f in scan_bytes(gguf([kv("k", 9, deep)]))] == ["AIR003"]
    many = struct.pack("<IQ", 8, 2_000_000) + struct.pack("<Q", 0) * 2_000_000
    assert [f.rule_id for f in scan_bytes(gguf([kv("k", 9, many)]))] == ["AIR003"]


def test_templates_before_a_break_are_still_analysed() -> None:
    data = gguf([kv("tokenizer.chat_template", 8, gstr(PAYLOAD))], n_kvs=2)
    assert {f.rule_id for f in scan_bytes(data)} >= {"AIR501", "AIR001"}


def test_oversized_template_is_skipped() -> None:
    data = gguf([kv("tokenizer.chat_template", 8, gstr("x" * 1_000_001))])
    assert [f.rule_id for f in scan_bytes(data)] == ["AIR003"]


@pytest.mark.parametrize(
    ("tensors", "data_bytes", "alignment", "expected"),
    [
        ([tensor_info("a", [8], 0, 4)], 64, None, "not 32-aligned"),
        ([tensor_info("a", [8], 0, 0)], 16, None, "past the end"),
        ([tensor_info("a", [8], 0, 0), tensor_info("b", [8], 0, 0)], 64, None, "overlaps"),
        ([tensor_info("a", [8], 99, 0)], 64, None, "unknown type"),
        ([tensor_info("a", [30], 2, 0)], 64, None, "whole blocks"),
        ([tensor_info("a", [8], 0, 0)], 64, 24, "power of 2"),
    ],
)
def test_tensor_layout(
    tensors: list[bytes], data_bytes: int, alignment: int | None, expected: str
) -> None:
    kvs = [] if alignment is None else [kv("general.alignment", 4, struct.pack("<I", alignment))]
    findings = scan_bytes(padded(gguf(kvs, tensors), data_bytes))
    assert [f.rule_id for f in findings] == ["AIR411"]
    assert expected in findings[0].message


def test_duplicate_keys_are_reported() -> None:
    name = kv("general.name", 8, gstr("a"))
    findings = scan_bytes(gguf([name, name]))
    assert [f.rule_id for f in findings] == ["AIR411"]
    assert "twice" in findings[0].message


def test_valid_hand_built_file_is_clean() -> None:
    tensors = [tensor_info("a", [8], 0, 0), tensor_info("q", [32], 8, 32)]  # F32 then Q8_0
    assert (
        scan_bytes(padded(gguf([kv("general.alignment", 4, struct.pack("<I", 32))], tensors), 66))
        == []
    )


SEED = padded(
    gguf(
        [
            kv("general.name", 8, gstr("tiny")),
            kv("tokenizer.chat_template", 8, gstr(BENIGN)),
            kv("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + b"\0" * 12),
            kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 2) + gstr("a") + gstr("b")),
        ],
        [tensor_info("a", [8], 0, 0)],
    ),
    32,
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.binary(max_size=200).map(lambda tail: b"GGUF" + tail),
        st.lists(
            st.tuples(st.integers(4, len(SEED) - 1), st.sampled_from([0, 1, 0x7F, 0x80, 0xFF])),
            min_size=1,
            max_size=6,
        ).map(lambda edits: _mutate(SEED, edits)),
        st.integers(4, len(SEED)).map(lambda cut: SEED[:cut]),
    )
)
def test_fuzz_never_raises(data: bytes) -> None:
    start = time.perf_counter()
    findings = scan_bytes(data)
    assert all(isinstance(f, Finding) for f in findings)
    assert time.perf_counter() - start < 1


def _mutate(seed: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(seed)
    for position, value in edits:
        data[position] = value
    return bytes(data)
