"""Compressed streams (joblib dumps and friends) and 7z archives."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import lzma
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
from container_helpers import canary_pickle, has, ids, of, scan, write_scan

from airlock.findings import Location, Severity
from airlock.scan.context import Blob, Kind
from airlock.scan.scanner import Limits, Scanner, _Context

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zlib": zlib.compress,
}


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a payload ran"


@pytest.mark.parametrize("method", ["gzip", "bz2", "xz", "zlib"])
def test_joblib_dumps_are_clean(tmp_path: Path, method: str) -> None:
    path = tmp_path / f"model.{method}.joblib"
    joblib.dump({"weights": np.arange(10.0), "name": "m"}, path, compress=(method, 3))
    result = scan(path)
    assert result.kind == "compressed"
    assert all(f.severity <= Severity.LOW for f in result.findings)


@pytest.mark.parametrize("method", sorted(COMPRESSORS))
def test_compressed_payload(tmp_path: Path, canary: Path, method: str) -> None:
    data = COMPRESSORS[method](canary_pickle(canary))
    result = write_scan(tmp_path / "model.pkl", data)
    [finding] = of(result, "AIR101")
    assert finding.severity is Severity.CRITICAL


def test_joblib_lzma_format(canary: Path) -> None:
    # joblib's compress='lzma' writes the legacy .lzma format (detection may not route it).
    data = lzma.compress(canary_pickle(canary), format=lzma.FORMAT_ALONE)
    scanner = Scanner()
    blob = Blob(data, "model.joblib", Location(), "model.joblib")
    findings = scanner.scan_blob(blob, Kind.COMPRESSED, _Context(scanner, "model.joblib"))
    assert {f.rule_id for f in findings} == {"AIR101"}


def test_joblib_legacy_zfile(tmp_path: Path, canary: Path) -> None:
    payload = canary_pickle(canary)
    data = b"ZF" + hex(len(payload)).encode().ljust(19) + zlib.compress(payload)
    assert has(write_scan(tmp_path / "old.pkl", data), "AIR101", Severity.CRITICAL)


def test_payload_in_second_gzip_member(tmp_path: Path, canary: Path) -> None:
    # GzipFile reads concatenated members as one stream.
    data = gzip.compress(b"") + gzip.compress(canary_pickle(canary)) + b"\x00" * 8
    result = write_scan(tmp_path / "model.pkl.gz", data)
    assert has(result, "AIR101", Severity.CRITICAL)
    assert "AIR001" not in ids(result)


def test_decompression_bomb(tmp_path: Path) -> None:
    data = gzip.compress(b"\x80\x02" + b"\x00" * 5_000_000)
    result = write_scan(tmp_path / "bomb.gz", data, Limits(max_decompressed_bytes=1_000_000))
    assert has(result, "AIR003", Severity.HIGH, "bomb")


@pytest.mark.parametrize("method", sorted(COMPRESSORS))
def test_truncated_stream_still_scanned(tmp_path: Path, canary: Path, method: str) -> None:
    payload = canary_pickle(canary) + b"\x00" * 50_000
    data = COMPRESSORS[method](payload)
    result = write_scan(tmp_path / "model.pkl", data[:-4])
    assert has(result, "AIR001", Severity.HIGH, "truncated")
    assert has(result, "AIR101", Severity.CRITICAL)


def test_corrupt_stream(tmp_path: Path) -> None:
    result = write_scan(tmp_path / "model.pkl.gz", b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    assert has(result, "AIR001", Severity.HIGH, "corrupt")


@pytest.mark.skipif(importlib.util.find_spec("lz4") is not None, reason="lz4 is installed")
def test_lz4_without_module_is_uninspectable(tmp_path: Path) -> None:
    result = write_scan(tmp_path / "model.lz4", b"\x04\x22\x4d\x18" + b"\x00" * 16)
    assert has(result, "AIR002", Severity.HIGH, "lz4")


def test_seven_zip_is_uninspectable(tmp_path: Path) -> None:
    result = write_scan(tmp_path / "model.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24)
    assert result.kind == "7z"
    assert has(result, "AIR002", Severity.HIGH, "7z")
