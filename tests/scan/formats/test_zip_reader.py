"""Zip archives: PyTorch checkpoints, the header tampering that evaded zipfile-based scanners,
bombs, broken archives, encryption and .npz files."""

from __future__ import annotations

import random
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from container_helpers import (
    break_crc,
    canary_pickle,
    has,
    ids,
    of,
    rename_local,
    scan,
    set_flags,
    set_method,
    torch_layout,
    write_scan,
    zip_bytes,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.findings import Severity
from airlock.scan.scanner import Limits


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a payload ran"


@pytest.fixture
def evil(canary: Path) -> bytes:
    return torch_layout(canary_pickle(canary))


def test_clean_torch_checkpoint_has_no_findings(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3), "b": {"x": 1}}, path)
    result = scan(path)
    assert result.kind == "zip"
    assert result.findings == ()


def test_payload_in_data_pkl(tmp_path: Path, evil: bytes) -> None:
    result = write_scan(tmp_path / "model.pt", evil)
    [finding] = of(result, "AIR101")
    assert finding.severity is Severity.CRITICAL
    assert finding.location.members == ("archive/data.pkl",)


def test_local_name_mismatch_is_tampering(tmp_path: Path, evil: bytes) -> None:
    data = rename_local(evil, "archive/data.pkl", "archive/data.txt")
    result = write_scan(tmp_path / "model.pt", data)
    assert has(result, "AIR201", Severity.MEDIUM, "another name")
    assert has(result, "AIR101", Severity.CRITICAL)


@pytest.mark.parametrize("flags", [0x1, 0x20, 0x40, 0x1 | 0x20 | 0x40])
def test_flag_bits_pytorch_ignores(tmp_path: Path, evil: bytes, flags: int) -> None:
    result = write_scan(tmp_path / "model.pt", set_flags(evil, flags))
    assert has(result, "AIR201", Severity.MEDIUM)
    assert has(result, "AIR101", Severity.CRITICAL)
    assert "AIR002" not in ids(result)  # the data is plain, so it is not really encrypted


def test_crc_mismatch_is_reported_and_ignored(tmp_path: Path, evil: bytes) -> None:
    result = write_scan(tmp_path / "model.pt", break_crc(evil, "archive/data.pkl"))
    assert has(result, "AIR201", Severity.MEDIUM, "CRC")
    assert has(result, "AIR101", Severity.CRITICAL)


@pytest.mark.parametrize("name", ["archive/extra.p", "archive/config", "archive/data/notes"])
def test_pickle_under_another_name(tmp_path: Path, canary: Path, name: str) -> None:
    data = torch_layout(b"\x80\x02}q\x00.", {name: canary_pickle(canary)})
    result = write_scan(tmp_path / "model.pt", data)
    [finding] = of(result, "AIR101")
    assert finding.location.members == (name,)


def test_tensor_storage_is_never_read(tmp_path: Path, canary: Path) -> None:
    # PyTorch copies data/<n> into tensor storage without unpickling it.
    data = zip_bytes(
        {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/data/0": canary_pickle(canary)}
    )
    assert of(write_scan(tmp_path / "model.pt", data), "AIR101") == []


def test_storage_named_differently_in_local_header_is_scanned(tmp_path: Path, canary: Path) -> None:
    data = zip_bytes(
        {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/data/0": canary_pickle(canary)}
    )
    result = write_scan(
        tmp_path / "model.pt", rename_local(data, "archive/data/0", "archive/x0.pkl")
    )
    assert has(result, "AIR101", Severity.CRITICAL)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compressed_members(tmp_path: Path, canary: Path, method: int) -> None:
    data = zip_bytes({"payload.pkl": canary_pickle(canary)}, method)
    assert has(write_scan(tmp_path / "a.zip", data), "AIR101", Severity.CRITICAL)


def test_zip64(tmp_path: Path, canary: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive, archive.open("p.pkl", "w", force_zip64=True) as f:
        f.write(canary_pickle(canary))
    assert has(scan(path), "AIR101", Severity.CRITICAL)


def test_zip_bomb(tmp_path: Path) -> None:
    data = zip_bytes({"bomb.pkl": b"\x80\x02" + b"\x00" * 5_000_000}, zipfile.ZIP_DEFLATED)
    result = write_scan(tmp_path / "bomb.zip", data, Limits(max_decompressed_bytes=1_000_000))
    assert has(result, "AIR003", Severity.HIGH, "zip bomb")


def test_truncated_archive_walks_local_headers(tmp_path: Path, evil: bytes) -> None:
    result = write_scan(tmp_path / "model.pt", evil[: len(evil) // 2])
    assert has(result, "AIR201", Severity.MEDIUM, "central directory")
    assert has(result, "AIR101", Severity.CRITICAL)


def test_truncated_torch_checkpoint_uses_data_descriptors(tmp_path: Path, canary: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3)}, path)
    data = path.read_bytes()
    result = write_scan(path, data[: data.rfind(b"PK\x01\x02")])  # central directory cut off
    assert has(result, "AIR201", Severity.MEDIUM, "central directory")
    assert "AIR101" not in ids(result)
    assert "AIR106" not in ids(result)  # data.pkl's extent came from its data descriptor


@pytest.mark.parametrize(
    "data", [b"PK\x03\x04", b"PK\x03\x04" + bytes(range(256)) * 4, b"PK\x05\x06"]
)
def test_garbage_zip_never_raises(tmp_path: Path, data: bytes) -> None:
    result = write_scan(tmp_path / "bad.zip", data)
    assert not any("reader could not parse" in f.message for f in result.findings)


def test_header_only_garbage_is_unparseable(tmp_path: Path) -> None:
    assert has(write_scan(tmp_path / "bad.zip", b"PK\x03\x04junk"), "AIR001", Severity.HIGH)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutated_archives_never_break_the_reader(tmp_path: Path, data: st.DataObject) -> None:
    archive = bytearray(
        torch_layout(b"\x80\x02}q\x00.", {"n.npz": zip_bytes({"a.npy": b"\x93NUMPY"})})
    )
    for _ in range(data.draw(st.integers(1, 8))):
        archive[data.draw(st.integers(0, len(archive) - 1))] = data.draw(st.integers(0, 255))
    result = write_scan(
        tmp_path / "m.pt", bytes(archive[: data.draw(st.integers(4, len(archive)))])
    )
    assert not any("reader could not parse" in f.message for f in result.findings)


def test_really_encrypted_member_is_uninspectable(tmp_path: Path) -> None:
    ciphertext = random.Random(7).randbytes(300)
    data = set_flags(zip_bytes({"secret.pkl": ciphertext}), 0x1)
    result = write_scan(tmp_path / "locked.zip", data)
    assert has(result, "AIR002", Severity.HIGH, "encrypted")


def test_unsupported_method_is_uninspectable(tmp_path: Path) -> None:
    data = set_method(zip_bytes({"x.pkl": b"whatever"}), "x.pkl", 99)  # WinZip AES
    assert has(write_scan(tmp_path / "aes.zip", data), "AIR002", Severity.HIGH, "method 99")


@pytest.mark.parametrize("name", ["../evil.pkl", "/etc/evil.pkl", "a/../../b", "C:\\x.pkl"])
def test_path_traversal(tmp_path: Path, name: str) -> None:
    result = write_scan(tmp_path / "a.zip", zip_bytes({name: b"hello"}))
    assert has(result, "AIR202", Severity.HIGH)


def test_duplicate_and_overlapping_members(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"a.txt": b"one", "b.txt": b"two"}))
    second_central = data.rfind(b"PK\x01\x02")
    data[second_central + 42 : second_central + 46] = (0).to_bytes(4, "little")
    result = write_scan(tmp_path / "a.zip", bytes(data))
    assert has(result, "AIR201", Severity.MEDIUM, "overlap")
    dup = zip_bytes({"a.txt": b"one", "b.txt": b"two"}).replace(b"b.txt", b"a.txt")
    assert has(write_scan(tmp_path / "d.zip", dup), "AIR201", Severity.MEDIUM, "same name")


def test_absurd_member_count(tmp_path: Path, evil: bytes) -> None:
    data = bytearray(evil)
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 8 : eocd + 12] = b"\xff\xff\xff\xff"
    result = write_scan(tmp_path / "model.pt", bytes(data))
    assert has(result, "AIR003", Severity.HIGH, "declares 65535 members")
    assert has(result, "AIR101", Severity.CRITICAL)


def test_archive_hidden_before_another(tmp_path: Path, evil: bytes) -> None:
    result = write_scan(tmp_path / "two.zip", evil + zip_bytes({"ok.txt": b"fine"}))
    assert has(result, "AIR201", Severity.MEDIUM, "precede")
    assert has(result, "AIR101", Severity.CRITICAL)


def test_nested_truncated_zip(tmp_path: Path, evil: bytes) -> None:
    data = zip_bytes({"inner.zip": evil[: len(evil) // 2]})
    result = write_scan(tmp_path / "outer.zip", data)
    [finding] = of(result, "AIR101")
    assert finding.location.members[:2] == ("inner.zip", "archive/data.pkl")


def test_npz_plain_and_compressed(tmp_path: Path) -> None:
    arrays = {"a": np.zeros(1000), "b": np.arange(10)}
    np.savez(tmp_path / "plain.npz", **arrays)
    np.savez_compressed(tmp_path / "small.npz", **arrays)
    assert scan(tmp_path / "plain.npz").findings == ()
    assert scan(tmp_path / "small.npz").findings == ()


def test_npz_compressed_big_plain_array_is_not_decompressed(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "big.npz", a=np.zeros(2_000_000))
    result = scan(tmp_path / "big.npz", Limits(max_decompressed_bytes=1_000_000))
    assert result.findings == ()


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_object_array_payload(tmp_path: Path, canary: Path, method: int) -> None:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + "\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    data = zip_bytes({"x.npy": npy + canary_pickle(canary)}, method)
    result = write_scan(tmp_path / "a.npz", data)
    assert has(result, "AIR301", Severity.INFO)
    [finding] = of(result, "AIR101")
    assert finding.location.members[0] == "x.npy"


def test_big_checkpoint_reads_only_what_it_must(tmp_path: Path) -> None:
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(75_000_000)}, path)  # ~300 MB of tensor storage
    try:
        tracemalloc.start()
        started = time.perf_counter()
        result = scan(path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.size > 290_000_000
        assert elapsed < 2.0
        assert peak < 50 * 1024 * 1024
        assert not ids(result) & {"AIR002", "AIR003", "AIR201"}
    finally:
        path.unlink()


@pytest.mark.parametrize("nested", [False, True])
def test_walking_local_headers_stays_linear(tmp_path: Path, nested: bool) -> None:
    # Sizes left to data descriptors that never come: each search must stop at the next header.
    local = b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0x8, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    data = local * 300 + b"\x00" * 20_000_000
    if nested:
        data = zip_bytes({"inner.zip": data})
    started = time.perf_counter()
    result = write_scan(tmp_path / "walk.zip", data)
    assert time.perf_counter() - started < 3.0
    assert has(result, "AIR201", Severity.MEDIUM, "central directory")
