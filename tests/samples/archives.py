"""Containers for samples: PyTorch-style zips (and ways to tamper with them), 7z, .npy.

Zips are written with the standard library (stored, uncompressed) and then patched byte by
byte, the way the published bypasses did: the patched fields are ones PyTorch's reader
ignores but Python's `zipfile` checks, so a scanner built on `zipfile` skips the member
while `torch.load` still unpickles it.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
# Offsets inside a local file header / central directory header.
_LOCAL_FLAGS, _LOCAL_CRC, _LOCAL_NAME_LEN = 6, 14, 26
_CENTRAL_FLAGS, _CENTRAL_CRC, _CENTRAL_NAME_LEN = 8, 16, 28


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A stored (uncompressed) zip with the given members, in order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def torch_zip(data_pkl: bytes, prefix: str = "archive", pickle_name: str = "data.pkl") -> bytes:
    """The layout `torch.save` writes: <prefix>/data.pkl, byteorder, data/, version."""
    return zip_bytes(
        {
            f"{prefix}/{pickle_name}": data_pkl,
            f"{prefix}/byteorder": b"little",
            f"{prefix}/data/0": b"\x00" * 16,
            f"{prefix}/version": b"3\n",
            f"{prefix}/.data/serialization_id": b"1234567890123456789012345678901234567890",
        }
    )


def _headers(data: bytes, magic: bytes) -> Iterator[int]:
    pos = data.find(magic)
    while pos >= 0:
        yield pos
        pos = data.find(magic, pos + 4)


def _member_name(data: bytes, header: int, name_len_at: int, fixed: int) -> bytes:
    (length,) = struct.unpack_from("<H", data, header + name_len_at)
    return data[header + fixed : header + fixed + length]


def set_flags(
    data: bytes, member: str, flags: int, local: bool = True, central: bool = True
) -> bytes:
    """OR general-purpose flag bits into the member's headers (0x1, 0x20, 0x40: CVE-2025-1945)."""
    out = bytearray(data)
    name = member.encode()
    if local:
        for pos in _headers(data, _LOCAL):
            if _member_name(data, pos, _LOCAL_NAME_LEN, 30) == name:
                (old,) = struct.unpack_from("<H", out, pos + _LOCAL_FLAGS)
                struct.pack_into("<H", out, pos + _LOCAL_FLAGS, old | flags)
    if central:
        for pos in _headers(data, _CENTRAL):
            if _member_name(data, pos, _CENTRAL_NAME_LEN, 46) == name:
                (old,) = struct.unpack_from("<H", out, pos + _CENTRAL_FLAGS)
                struct.pack_into("<H", out, pos + _CENTRAL_FLAGS, old | flags)
    return bytes(out)


def rename_local(data: bytes, member: str, local_name: str) -> bytes:
    """Give the member another name in its local header only (CVE-2025-1944)."""
    old, new = member.encode(), local_name.encode()
    if len(old) != len(new):
        raise ValueError("the local name must keep the length of the central one")
    out = bytearray(data)
    for pos in _headers(data, _LOCAL):
        if _member_name(data, pos, _LOCAL_NAME_LEN, 30) == old:
            out[pos + 30 : pos + 30 + len(new)] = new
    return bytes(out)


def break_crc(data: bytes, member: str) -> bytes:
    """Store a wrong CRC-32 for the member in both headers (CVE-2025-10156)."""
    out = bytearray(data)
    name = member.encode()
    for magic, name_len_at, fixed, crc_at in (
        (_LOCAL, _LOCAL_NAME_LEN, 30, _LOCAL_CRC),
        (_CENTRAL, _CENTRAL_NAME_LEN, 46, _CENTRAL_CRC),
    ):
        for pos in _headers(data, magic):
            if _member_name(data, pos, name_len_at, fixed) == name:
                (crc,) = struct.unpack_from("<I", out, pos + crc_at)
                struct.pack_into("<I", out, pos + crc_at, crc ^ 0xDEADBEEF)
    return bytes(out)


# 7z ----------------------------------------------------------------------------------------


def _7z_number(value: int) -> bytes:
    """7z's variable-length NUMBER: leading one bits in the first byte count the extra bytes."""
    for extra in range(9):
        bits = 64 if extra == 8 else 8 * extra + (7 - extra)
        if value < (1 << bits):
            high = value >> (8 * extra) if extra < 8 else 0
            first = ((0xFF << (8 - extra)) & 0xFF) | high
            low = value & ((1 << (8 * extra)) - 1)
            return bytes([first]) + low.to_bytes(extra, "little")
    raise ValueError("number too large")


def seven_zip_bytes(name: str, payload: bytes) -> bytes:
    """A 7z archive holding one file stored with the Copy coder and a plain (unpacked) header."""
    n = _7z_number
    names = name.encode("utf-16-le") + b"\x00\x00"
    header = (
        b"\x01"  # Header
        + b"\x04"  # MainStreamsInfo
        + b"\x06" + n(0) + n(1) + b"\x09" + n(len(payload)) + b"\x00"  # PackInfo
        + b"\x07" + b"\x0b" + n(1) + b"\x00"  # UnpackInfo, Folder: one, not external
        + n(1) + b"\x01" + b"\x00"  # one coder, id size 1, id 0x00 = Copy
        + b"\x0c" + n(len(payload)) + b"\x00"  # CodersUnpackSize
        + b"\x08" + b"\x0a" + b"\x01" + struct.pack("<I", zlib.crc32(payload)) + b"\x00"
        + b"\x00"  # end of MainStreamsInfo
        + b"\x05" + n(1)  # FilesInfo: one file
        + b"\x11" + n(len(names) + 1) + b"\x00" + names  # Names, not external
        + b"\x00"  # end of FilesInfo
        + b"\x00"  # end of Header
    )  # fmt: skip
    start = struct.pack("<QQI", len(payload), len(header), zlib.crc32(header))
    signature = b"7z\xbc\xaf\x27\x1c" + b"\x00\x04" + struct.pack("<I", zlib.crc32(start))
    return signature + start + payload + header


# NumPy -------------------------------------------------------------------------------------


def npy_bytes(descr: str, shape: tuple[int, ...], body: bytes) -> bytes:
    """A version 1.0 .npy file: magic, header dict padded to 64 bytes, then `body`."""
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    total = 10 + len(header) + 1
    header += " " * (-total % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + body
