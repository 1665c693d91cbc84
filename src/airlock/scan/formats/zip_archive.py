"""A lenient zip parser: it opens what PyTorch's loader (miniz) opens and records every oddity.

Strict parsers reject wrong CRCs, odd flag bits or names that differ between headers, which
PyTorch loads anyway (CVE-2025-1944, -1945, -10156). As in miniz, names, sizes and methods come
from the central directory; the local header only says where the data starts.

Readers also disagree on which central directory an archive has: Python's zipfile takes the
last end record signature in the final 64 KiB (and shifts offsets when bytes are prepended),
while miniz 3.0.2 (PyTorch's, third_party/miniz-3.0.2, mz_zip_reader_locate_header_sig and
mz_zip_reader_read_central_dir) takes the last signature with a whole record after it, searching
4 KiB blocks back from the end, and never shifts. Both readings are made; members only one of
them sees are scanned too, and the disagreement is recorded."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field

from airlock.scan.context import Buffer
from airlock.scan.formats.archive_common import Anomalies

_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIG, _CENTRAL_SIG, _DESCRIPTOR_SIG = b"PK\x03\x04", b"PK\x01\x02", b"PK\x07\x08"

MAX_MEMBERS = 200_000
_DATA_DESCRIPTOR = 0x8
# Patched data, strong encryption, encrypted central directory: miniz ignores all three.
_ODD_FLAGS = 0x20 | 0x40 | 0x2000
_FIND_WINDOW = 1 << 20
_NO_DIRECTORY = "the central directory is missing or damaged, so the local headers were walked"


@dataclass(frozen=True)
class Member:
    name: str  # from the central directory, as PyTorch reads it
    local_name: str | None  # None when the local header did not give a different name
    flags: int
    method: int
    crc: int | None  # None when unknown (found by walking local headers)
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int
    is_link: bool


@dataclass
class Archive:
    members: list[Member] = field(default_factory=list)
    anomalies: Anomalies = field(default_factory=Anomalies)
    limits: list[str] = field(default_factory=list)  # limits that left part of it unread
    # Zip readers that would see different members (each reading's members are all listed).
    disagreements: list[str] = field(default_factory=list)


def open_archive(buf: Buffer) -> Archive:
    """Every member PyTorch would see; without a usable central directory, the local headers."""
    archive = Archive()
    complete, miniz_same = _read_central_directory(buf, archive)
    if not complete:
        seen = {m.header_offset for m in archive.members}
        archive.members += [m for m in _walk_local_headers(buf) if m.header_offset not in seen]
    if not miniz_same:
        _add_miniz_reading(buf, archive)
    _check_layout(archive)
    return archive


def _member_key(member: Member) -> tuple[str, int, int]:
    return member.name, member.data_offset, member.compressed_size


def _add_miniz_reading(buf: Buffer, archive: Archive) -> None:
    """Add the members miniz (PyTorch) reads that the lenient reading missed, and say so."""
    members = miniz_members(buf)
    if members is None:
        return  # miniz refuses the archive: torch.load fails before reading any member
    ours = {_member_key(m) for m in archive.members}
    theirs = {_member_key(m) for m in members}
    missed = [m for m in members if _member_key(m) not in ours]
    if missed:
        names = ", ".join(f"`{m.name}`" for m in missed[:5])
        archive.disagreements.append(
            f"PyTorch's zip reader (miniz) finds a central directory that other readers do not "
            f"use, with {len(missed)} member(s) they do not see ({names})"
        )
        archive.members += missed
    elif ours - theirs and archive.members:
        extra = [m.name for m in archive.members if _member_key(m) not in theirs]
        names = ", ".join(f"`{n}`" for n in extra[:5])
        archive.disagreements.append(
            f"Python's zipfile and PyTorch's zip reader (miniz) read different central "
            f"directories; {len(extra)} member(s) exist only for the former ({names})"
        )


def _miniz_eocd(buf: Buffer) -> int | None:
    """mz_zip_reader_locate_header_sig: the last signature with a whole record after it."""
    size, record, block = len(buf), _EOCD.size, 4096
    if size < record:
        return None
    cur = max(size - block, 0)
    while True:
        n = min(block, size - cur)
        last = min(n - 4, size - record - cur)  # the latest start a whole record fits after
        if last >= 0:
            hit = bytes(buf[cur : cur + last + 4]).rfind(b"PK\x05\x06")
            if hit >= 0:
                return cur + hit
        if cur == 0 or size - cur >= 0xFFFF + record:
            return None
        cur = max(cur - (block - 3), 0)


def miniz_members(buf: Buffer) -> list[Member] | None:
    """The members miniz 3.0.2 lists (mz_zip_reader_read_central_dir), or None when it refuses
    the archive. Offsets are absolute: miniz never allows for prepended bytes."""
    eocd_pos = _miniz_eocd(buf)
    eocd = _unpack(_EOCD, buf, eocd_pos, b"PK\x05\x06") if eocd_pos is not None else None
    if eocd_pos is None or eocd is None:
        return None
    disk, cd_disk, on_disk, count, cd_size, cd_offset = eocd[:6]
    if eocd_pos >= _EOCD64_LOCATOR.size + _EOCD64.size:
        locator = _unpack(_EOCD64_LOCATOR, buf, eocd_pos - _EOCD64_LOCATOR.size, b"PK\x06\x07")
        if locator is not None:
            if locator[1] > len(buf) - _EOCD64.size:
                return None
            eocd64 = _unpack(_EOCD64, buf, locator[1], b"PK\x06\x06")
            if eocd64 is not None:
                if locator[2] != 1 or eocd64[0] < _EOCD64.size - 12:
                    return None
                disk, cd_disk, on_disk, count, cd_size, cd_offset = eocd64[3:9]
    if count != on_disk or ((disk | cd_disk) and (disk, cd_disk) != (1, 1)):
        return None
    if cd_size < count * _CENTRAL.size or cd_offset + cd_size > len(buf):
        return None
    trial = Archive()
    pos, end = cd_offset, cd_offset + cd_size
    for _ in range(min(count, MAX_MEMBERS)):
        entry = _unpack(_CENTRAL, buf, pos, _CENTRAL_SIG) if pos + _CENTRAL.size <= end else None
        if entry is None:
            return None
        pos = _central_entry(buf, pos, entry, 0, trial)
    return trial.members


def _unpack(layout: struct.Struct, buf: Buffer, pos: int, sig: bytes) -> tuple[int, ...] | None:
    fields = layout.unpack_from(buf, pos) if 0 <= pos <= len(buf) - layout.size else (b"",)
    return fields[1:] if fields[0] == sig else None


def _read_central_directory(buf: Buffer, archive: Archive) -> tuple[bool, bool]:
    """Fill archive.members from the central directory. Returns (complete, miniz_same):
    complete is False when it misses some members; miniz_same is True only when miniz
    (miniz_members) is bound to list exactly these members or to refuse the archive."""
    # Python's zipfile searches the last 64 KiB + 22 bytes (_EndRecData: 1 << 16).
    base = max(0, len(buf) - _EOCD.size - (1 << 16))
    eocd_pos = bytes(buf[base:]).rfind(b"PK\x05\x06")
    eocd = _unpack(_EOCD, buf, base + eocd_pos, b"PK\x05\x06") if eocd_pos >= 0 else None
    if eocd is None:
        archive.anomalies.add(_NO_DIRECTORY)
        return False, False
    eocd_pos += base
    count, cd_size, cd_offset = eocd[3], eocd[4], eocd[5]
    cd_end_expected = eocd_pos
    # The record ends the file, so it is also the one miniz picks (the last signature with a
    # whole record after it). Both then take the same fields from it and from a zip64 record
    # (miniz looks for one only when both zip64 records fit before the end record).
    miniz_same = eocd_pos == len(buf) - _EOCD.size
    locator = _unpack(_EOCD64_LOCATOR, buf, eocd_pos - _EOCD64_LOCATOR.size, b"PK\x06\x07")
    if locator is not None:
        eocd64 = _unpack(_EOCD64, buf, locator[1], b"PK\x06\x06")
        if eocd64 is None:
            archive.anomalies.add("the zip64 end record is missing where its locator points")
        else:
            count, cd_size, cd_offset = eocd64[6], eocd64[7], eocd64[8]
            cd_end_expected = locator[1]
            miniz_same &= eocd_pos >= _EOCD64_LOCATOR.size + _EOCD64.size
    # Bytes prepended to the archive shift every offset (Python's zipfile allows for this).
    shift = cd_end_expected - cd_size - cd_offset
    prepended = shift > 0 and _unpack(_CENTRAL, buf, cd_offset + shift, _CENTRAL_SIG) is not None
    if prepended:
        archive.anomalies.add(f"{shift} bytes precede the archive; they were searched for members")
    else:
        shift = 0
    # From here miniz reads the same entries from the same place with the same parser (it
    # refuses the archive where this reading stops short, or finds entries past the end of
    # the directory), so only a complete reading without prepended bytes is known to match.
    if count > cd_size // _CENTRAL.size:
        archive.limits.append(
            f"The archive declares {count} members, more than its central directory of "
            f"{cd_size} bytes can hold."
        )
    pos, end = cd_offset + shift, min(len(buf), cd_offset + shift + cd_size)
    if pos + cd_size > len(buf):
        archive.anomalies.add("the central directory's declared size runs past the end of file")
    while len(archive.members) < count:
        if len(archive.members) >= MAX_MEMBERS:
            archive.limits.append(
                f"The archive has more than {MAX_MEMBERS} members; the rest were not inspected."
            )
            return True, False
        entry = _unpack(_CENTRAL, buf, pos, _CENTRAL_SIG) if pos < end else None
        if entry is None:
            archive.anomalies.add(_NO_DIRECTORY)
            return False, False
        pos = _central_entry(buf, pos, entry, shift, archive)
    return not prepended, miniz_same and not prepended


def _central_entry(
    buf: Buffer, pos: int, entry: tuple[int, ...], shift: int, archive: Archive
) -> int:
    made_by, _, flags, method, _, _, crc, csize, size, name_len, extra_len = entry[:11]
    comment_len, external, offset = entry[11], entry[14], entry[15]
    name_at = pos + _CENTRAL.size
    raw = bytes(buf[name_at : name_at + name_len])
    name = _decode(raw)
    extra = bytes(buf[name_at + name_len : name_at + name_len + extra_len])
    size, csize, offset = _zip64_sizes(extra, size, csize, offset)
    offset += shift
    local = _unpack(_LOCAL, buf, offset, _LOCAL_SIG)
    if local is None:
        archive.anomalies.add("no local header is where the central directory points", name)
        return name_at + name_len + extra_len + comment_len
    local_flags, local_method, local_size = local[1], local[2], local[6:8]
    local_raw = bytes(buf[offset + _LOCAL.size : offset + _LOCAL.size + local[8]])
    local_name = None if local_raw == raw else _decode(local_raw)
    if local_name is not None:
        archive.anomalies.add("the local header gives another name", f"{name}` vs `{local_name}")
    if (flags | local_flags) & _ODD_FLAGS:
        archive.anomalies.add("flag bits that PyTorch ignores are set", name)
    if local_method != method:
        archive.anomalies.add("the local header names another compression method", name)
    sized = not local_flags & _DATA_DESCRIPTOR and 0xFFFFFFFF not in local_size
    if sized and local_size != (csize, size):
        archive.anomalies.add("the local header gives other sizes", name)
    data_offset = offset + _LOCAL.size + local[8] + local[9]
    if data_offset + csize > len(buf):
        archive.anomalies.add("the declared size runs past the end of the file", name)
    is_link = made_by >> 8 == 3 and (external >> 16) & 0o170000 == 0o120000
    member = Member(name, local_name, flags, method, crc, csize, size, offset, data_offset, is_link)
    archive.members.append(member)
    return name_at + name_len + extra_len + comment_len


def _zip64_sizes(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            values, body, at = [size, csize, offset], extra[pos + 4 : pos + 4 + length], 0
            for i, value in enumerate(values):
                if value == 0xFFFFFFFF and at + 8 <= len(body):
                    values[i] = int.from_bytes(body[at : at + 8], "little")
                    at += 8
            return values[0], values[1], values[2]
        pos += 4 + length
    return size, csize, offset


def _walk_local_headers(buf: Buffer) -> list[Member]:
    members: list[Member] = []
    pos = _find(buf, _LOCAL_SIG, 0, len(buf))
    while pos >= 0 and len(members) < MAX_MEMBERS:
        local = _unpack(_LOCAL, buf, pos, _LOCAL_SIG)
        if local is None:
            break
        flags, method = local[1], local[2]
        crc: int | None = local[5]
        csize, size, name_len, extra_len = local[6:10]
        data_offset = pos + _LOCAL.size + name_len + extra_len
        if flags & _DATA_DESCRIPTOR or data_offset + csize > len(buf):
            end, crc, size = _data_end(buf, data_offset)
            csize = end - data_offset
        name = _decode(bytes(buf[pos + _LOCAL.size : pos + _LOCAL.size + name_len]))
        members.append(Member(name, None, flags, method, crc, csize, size, pos, data_offset, False))
        pos = _find(buf, _LOCAL_SIG, max(data_offset + csize, pos + 1), len(buf))
    return members


def _data_end(buf: Buffer, start: int) -> tuple[int, int | None, int]:
    """End offset, CRC and size (-1: unknown) of data from a descriptor, else the next header."""
    # Search no further than the next header, so that walking stays linear in the file size.
    limit = _find(buf, _LOCAL_SIG, start, len(buf))
    limit = len(buf) if limit < 0 else limit
    central = _find(buf, _CENTRAL_SIG, start, limit)
    limit = limit if central < 0 else central
    hit = _find(buf, _DESCRIPTOR_SIG, start, limit)
    while hit >= 0:
        tail = bytes(buf[hit + 4 : hit + 24])
        for width in (4, 8):
            if int.from_bytes(tail[4 : 4 + width], "little") == hit - start:
                size = int.from_bytes(tail[4 + width : 4 + 2 * width], "little")
                return hit, int.from_bytes(tail[:4], "little"), size
        hit = _find(buf, _DESCRIPTOR_SIG, hit + 1, limit)
    return limit, None, -1


def _check_layout(archive: Archive) -> None:
    names: set[str] = set()
    twins, overlaps = [], []
    for member in archive.members:
        if member.name in names:
            archive.anomalies.add("several members have the same name", member.name)
            twins.append(member.name)
        names.add(member.name)
    ordered = sorted(archive.members, key=lambda m: m.header_offset)
    for before, after in itertools.pairwise(ordered):
        if after.header_offset < before.data_offset + before.compressed_size:
            archive.anomalies.add("members overlap each other", after.name)
            overlaps.append(after.name)
    renamed = [m.name for m in archive.members if m.local_name is not None]
    for found, why in (
        (twins, "several members share a name (miniz picks one by binary search, Python's "
         "zipfile the last)"),
        (overlaps, "members overlap, so the same bytes are read as different members"),
        (renamed, "local headers name other members than the central directory (miniz "
         "follows the directory, Python's zipfile refuses the member)"),
    ):  # fmt: skip
        if found:
            shown = ", ".join(f"`{name}`" for name in list(dict.fromkeys(found))[:3])
            archive.disagreements.append(f"{why}: {shown}")


def _find(buf: Buffer, sig: bytes, start: int, end: int) -> int:
    if not isinstance(buf, memoryview):
        return buf.find(sig, start, end)
    step = 4096  # a memoryview has no find(): search growing, overlapping windows
    while start < end:
        hit = bytes(buf[start : min(end, start + step + len(sig) - 1)]).find(sig)
        if hit >= 0:
            return start + hit
        start, step = start + step, min(step * 4, _FIND_WINDOW)
    return -1


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")
