"""Shared builders for the container tests: canary pickles, zips and header patches.

Payloads are hand-assembled pickle bytes whose only effect, if ever run, is to write a canary
file in the test's temporary folder; the tests assert that file never appears.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from airlock.artifact import ArtifactFile
from airlock.findings import Finding, Severity
from airlock.scan.results import FileResult
from airlock.scan.scanner import Limits, Scanner

LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


def canary_pickle(canary: Path) -> bytes:
    """Protocol 2: builtins.exec("open(<canary>, 'w').write('fired')")."""
    code = f"open({str(canary)!r}, 'w').write('fired')".encode()
    return b"\x80\x02cbuiltins\nexec\nX" + struct.pack("<I", len(code)) + code + b"\x85R."


def scan(path: Path, limits: Limits | None = None) -> FileResult:
    return Scanner(limits=limits).scan_file(ArtifactFile(path, str(path)))


def write_scan(path: Path, data: bytes, limits: Limits | None = None) -> FileResult:
    path.write_bytes(data)
    return scan(path, limits)


def ids(result: FileResult) -> set[str]:
    return {f.rule_id for f in result.findings}


def of(result: FileResult, rule_id: str) -> list[Finding]:
    return [f for f in result.findings if f.rule_id == rule_id]


def has(result: FileResult, rule_id: str, severity: Severity, text: str = "") -> bool:
    return any(f.severity is severity and text in f.message for f in of(result, rule_id))


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, method)
    return out.getvalue()


def torch_layout(data_pkl: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """What torch.save writes, with `data_pkl` as the pickle (and any extra members)."""
    return zip_bytes(
        {
            "archive/data.pkl": data_pkl,
            "archive/byteorder": b"little",
            "archive/data/0": b"\x00" * 12,
            "archive/version": b"3\n",
            **(extra or {}),
        }
    )


def headers(data: bytes, magic: bytes) -> list[int]:
    found, pos = [], data.find(magic)
    while pos >= 0:
        found.append(pos)
        pos = data.find(magic, pos + 4)
    return found


def _name_at(data: bytes, pos: int, central: bool) -> bytes:
    length_at, fixed = (28, 46) if central else (26, 30)
    (length,) = struct.unpack_from("<H", data, pos + length_at)
    return data[pos + fixed : pos + fixed + length]


def patch(
    data: bytes,
    member: str | None,
    offsets: tuple[int, int],
    fmt: str,
    fn: Callable[[int], int],
) -> bytes:
    """Apply fn(old) -> new to one field of the member's (or every member's) two headers."""
    out = bytearray(data)
    for magic, at, central in ((LOCAL, offsets[0], False), (CENTRAL, offsets[1], True)):
        for pos in headers(data, magic):
            if member is None or _name_at(data, pos, central) == member.encode():
                (old,) = struct.unpack_from(fmt, out, pos + at)
                struct.pack_into(fmt, out, pos + at, fn(old))
    return bytes(out)


def set_flags(data: bytes, flags: int, member: str | None = None) -> bytes:
    return patch(data, member, (6, 8), "<H", lambda old: old | flags)


def break_crc(data: bytes, member: str) -> bytes:
    return patch(data, member, (14, 16), "<I", lambda old: old ^ 0xDEADBEEF)


def set_method(data: bytes, member: str, method: int) -> bytes:
    return patch(data, member, (8, 10), "<H", lambda old: method)


def rename_local(data: bytes, member: str, local_name: str) -> bytes:
    old, new = member.encode(), local_name.encode()
    assert len(old) == len(new)
    out = bytearray(data)
    for pos in headers(data, LOCAL):
        if _name_at(data, pos, False) == old:
            out[pos + 30 : pos + 30 + len(new)] = new
    return bytes(out)
