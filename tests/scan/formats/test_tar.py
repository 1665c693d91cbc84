"""Tar archives: payloads in members, escaping paths and links, special files, legacy PyTorch
tars, nesting with gzip and zip, broken headers, and fuzzing that must never break the reader."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from container_helpers import canary_pickle, has, ids, of, scan, write_scan, zip_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock.findings import Finding, Severity
from airlock.scan.context import Kind
from airlock.scan.formats.detect import detect
from airlock.scan.results import FileResult

Entry = tuple[tarfile.TarInfo, bytes | None]


def info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type, entry.linkname, entry.mtime = kind, link, 1_700_000_000
    return entry


def tar_bytes(entries: list[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for entry, data in entries:
            entry.size = len(data or b"")
            archive.addfile(entry, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def files(members: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    return tar_bytes([(info(name), data) for name, data in members.items()], fmt)


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()


def fix_checksum(header: bytearray) -> None:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header[:512])


def old_gnu_sparse(name: str, runs: list[tuple[int, bytes]], real_size: int) -> bytes:
    """An old GNU sparse ('S') member, which tarfile reads but cannot write."""
    stored = b"".join(chunk for _, chunk in runs)
    header = bytearray(files({name: stored}, tarfile.GNU_FORMAT)[:512])
    header[156:157] = b"S"
    for i, (offset, chunk) in enumerate(runs):
        header[386 + 24 * i : 410 + 24 * i] = b"%011o\x00%011o\x00" % (offset, len(chunk))
    header[483:495] = b"%011o\x00" % real_size
    fix_checksum(header)
    padded = stored + bytes(-len(stored) % 512)
    return bytes(header) + padded + bytes(1024)


def severe(result: FileResult) -> list[Finding]:
    return [f for f in result.findings if f.severity >= Severity.MEDIUM]


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a payload ran"


@pytest.fixture
def evil(canary: Path) -> bytes:
    return canary_pickle(canary)


def test_detects_ustar_gnu_and_v7_headers() -> None:
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        assert detect(files({"a": b"x"}, fmt)[:4096], "a.tar") is Kind.TAR
    v7 = bytearray(files({"a.pkl": b"x"}, tarfile.USTAR_FORMAT))
    v7[257:265] = bytes(8)
    fix_checksum(v7)
    assert names(bytes(v7)) == ["a.pkl"]
    assert detect(bytes(v7), "a") is Kind.TAR
    assert detect(b"\x80\x02}q\x00." + bytes(600), "a.pkl") is Kind.PICKLE


def test_benign_checkpoint_and_json(tmp_path: Path) -> None:
    checkpoint = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, checkpoint)
    config = json.dumps({"hidden_size": 8}).encode()
    data = files({"model/pytorch_model.bin": checkpoint.getvalue(), "model/config.json": config})
    result = write_scan(tmp_path / "model.tar", data)
    assert result.kind == "tar"
    assert severe(result) == []


def test_legacy_torch_tar_members_are_scanned(tmp_path: Path, evil: bytes) -> None:
    benign = {
        "sys_info": pickle.dumps({"protocol_version": 1001, "little_endian": True}, 2),
        "storages": pickle.dumps(0, 2) + b"\x00" * 16,
        "tensors": pickle.dumps(0, 2),
    }
    clean = write_scan(tmp_path / "old.pt", files({**benign, "pickle": pickle.dumps({}, 2)}))
    assert severe(clean) == []
    result = write_scan(tmp_path / "old.pt", files({**benign, "pickle": evil}))
    [finding] = of(result, "AIR101")
    assert finding.severity is Severity.CRITICAL and finding.location.members == ("pickle",)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_payload_member(tmp_path: Path, evil: bytes, fmt: int) -> None:
    result = write_scan(tmp_path / "a.tar", files({"ok.json": b"{}", "dir/model.pkl": evil}, fmt))
    [finding] = of(result, "AIR101")
    assert finding.severity is Severity.CRITICAL
    assert finding.location.members == ("dir/model.pkl",)


def test_gnu_long_name(tmp_path: Path, evil: bytes) -> None:
    name = "deep/" * 40 + "model.pkl"
    data = files({name: evil}, tarfile.GNU_FORMAT)
    assert b"././@LongLink" in data
    result = write_scan(tmp_path / "a.tar", data)
    assert [f.location.members for f in of(result, "AIR101")] == [(name,)]


@pytest.mark.parametrize("name", ["../../evil.pkl", "/etc/cron.d/x", "C:\\x.pkl", "a\\..\\..\\b"])
def test_escaping_member_paths(tmp_path: Path, evil: bytes, name: str) -> None:
    result = write_scan(tmp_path / "a.tar", files({name: evil}, tarfile.GNU_FORMAT))
    assert has(result, "AIR202", Severity.HIGH, name)
    assert "AIR101" in ids(result)


def test_pax_path_override(tmp_path: Path, evil: bytes) -> None:
    entry = info("harmless.pkl")
    entry.pax_headers = {"path": "../outside.pkl"}
    result = write_scan(tmp_path / "a.tar", tar_bytes([(entry, evil)]))
    assert has(result, "AIR202", Severity.HIGH, "../outside.pkl")
    assert [f.location.members for f in of(result, "AIR101")] == [("../outside.pkl",)]


def test_links(tmp_path: Path) -> None:
    entries: list[Entry] = [
        (info("passwd", tarfile.SYMTYPE, "/etc/passwd"), None),
        (info("up", tarfile.LNKTYPE, "../x"), None),
        (info("lib/inside", tarfile.SYMTYPE, "../share/x"), None),
    ]
    result = write_scan(tmp_path / "a.tar", tar_bytes(entries))
    links = {f.location.members[0]: f.severity for f in of(result, "AIR203")}
    assert links == {"passwd": Severity.HIGH, "up": Severity.HIGH, "lib/inside": Severity.MEDIUM}
    escaping = {f.location.members[0] for f in of(result, "AIR202")}
    assert escaping == {"passwd", "up"}


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_special_files(tmp_path: Path, kind: bytes) -> None:
    result = write_scan(tmp_path / "a.tar", tar_bytes([(info("dev", kind), None)]))
    assert has(result, "AIR204", Severity.MEDIUM)


def test_tar_gz_payload(tmp_path: Path, evil: bytes) -> None:
    result = write_scan(tmp_path / "a.tar.gz", gzip.compress(files({"m.pkl": evil})))
    [finding] = of(result, "AIR101")
    assert finding.location.members == ("gzip data", "m.pkl")


def test_tar_in_zip_and_zip_in_tar(tmp_path: Path, evil: bytes) -> None:
    inner_tar = files({"m.pkl": evil})
    result = write_scan(tmp_path / "a.zip", zip_bytes({"w.tar": inner_tar}))
    assert [f.location.members for f in of(result, "AIR101")] == [("w.tar", "m.pkl")]
    result = write_scan(tmp_path / "b.tar", files({"w.zip": zip_bytes({"m.pkl": evil})}))
    assert [f.location.members for f in of(result, "AIR101")] == [("w.zip", "m.pkl")]


def test_truncated(tmp_path: Path, evil: bytes) -> None:
    data = files({"a.json": b"{}", "m.pkl": evil + b"\x00" * 2000}, tarfile.USTAR_FORMAT)
    result = write_scan(tmp_path / "a.tar", data[: 512 * 3 + 200])
    assert has(result, "AIR001", Severity.HIGH, "m.pkl")
    assert "AIR101" in ids(result)  # the bytes that are there were still scanned
    cut_header = write_scan(tmp_path / "b.tar", data[: 512 * 2 + 100])
    assert has(cut_header, "AIR001", Severity.HIGH, "cut short")


def test_checksum_tampered(tmp_path: Path, evil: bytes) -> None:
    data = bytearray(files({"a.json": b"{}", "m.pkl": evil}, tarfile.USTAR_FORMAT))
    data[1024 + 100] ^= 1  # the second header's mode field, not its checksum
    result = write_scan(tmp_path / "a.tar", bytes(data))
    assert has(result, "AIR201", Severity.MEDIUM, "checksum")
    assert "AIR101" in ids(result)


def test_member_after_end_marker(tmp_path: Path, evil: bytes) -> None:
    data = files({"a.json": b"{}"}, tarfile.USTAR_FORMAT)
    hidden = files({"m.pkl": evil}, tarfile.USTAR_FORMAT)
    result = write_scan(tmp_path / "a.tar", data[:2048] + hidden)
    assert has(result, "AIR201", Severity.MEDIUM, "end-of-archive")
    assert "AIR101" in ids(result)


def test_pickle_tar_polyglot(tmp_path: Path) -> None:
    # The first member's name is a whole pickle: pickle.load runs it, tarfile lists a member.
    payload = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
    data = bytearray(files({"x": b""}, tarfile.USTAR_FORMAT))
    data[0:100] = payload.ljust(100, b"\x00")
    fix_checksum(data)
    assert len(names(bytes(data))) == 1
    result = write_scan(tmp_path / "a.pt", bytes(data))
    assert result.kind == "tar"
    assert [f.location.members for f in of(result, "AIR101")] == [()]


def test_old_gnu_sparse_member(tmp_path: Path, canary: Path) -> None:
    # The payload's code string has a hole of zeros: only the expanded file is a whole pickle.
    code = b"#" + bytes(600) + f"\nopen({str(canary)!r}, 'w')".encode()
    full = b"\x80\x02cbuiltins\nexec\nX" + struct.pack("<I", len(code)) + code + b"\x85R."
    hole = full.index(bytes(600))
    runs = [(0, full[:hole]), (hole + 600, full[hole + 600 :])]
    data = old_gnu_sparse("m.pkl", runs, len(full))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = archive.getmembers()[0]
        assert archive.extractfile(member).read() == full  # type: ignore[union-attr]
    result = write_scan(tmp_path / "a.tar", data)
    assert [f.location.members for f in of(result, "AIR101")] == [("m.pkl",)]
    assert "AIR106" not in ids(result)


def test_member_count_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airlock.scan.formats.tar_archive.MAX_MEMBERS", 5)
    result = write_scan(tmp_path / "a.tar", files({f"f{i}": b"" for i in range(8)}))
    assert has(result, "AIR003", Severity.HIGH, "more than 5 members")


_SEEDS = (
    files({"a.json": b"{}", "m.pkl": pickle.dumps([1, 2], 2)}, tarfile.GNU_FORMAT),
    files({"a" * 120: b"{}", "b": b"x"}, tarfile.PAX_FORMAT),
    old_gnu_sparse("s.pkl", [(0, pickle.dumps(1, 2)), (9000, b"x")], 9001),
)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.data())
def test_fuzz_mutated_seed(tmp_path: Path, data: st.DataObject) -> None:
    buf = bytearray(data.draw(st.sampled_from(_SEEDS)))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(buf) - 1))
        buf[at : at + 4] = data.draw(st.binary(min_size=1, max_size=4))
    start = time.monotonic()
    scan(_write(tmp_path, bytes(buf)))
    assert time.monotonic() - start < 2


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(st.binary(min_size=512, max_size=512), min_size=1, max_size=6), st.data())
def test_fuzz_random_blocks(tmp_path: Path, blocks: list[bytes], data: st.DataObject) -> None:
    # Random blocks after a valid header, and random blocks given a valid magic and checksum.
    first = bytearray(blocks[0])
    first[257:265] = data.draw(st.sampled_from([b"ustar\x0000", b"ustar  \x00"]))
    fix_checksum(first)
    buf = bytes(first) + b"".join(blocks[1:])
    for candidate in (buf, _SEEDS[0][:1024] + buf):
        start = time.monotonic()
        scan(_write(tmp_path, candidate))
        assert time.monotonic() - start < 2


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "fuzz.tar"
    path.write_bytes(data)
    return path
