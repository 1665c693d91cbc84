"""One tar header block (POSIX ustar, GNU, V7) and PAX records, parsed over bytes with bounds.

Numbers are read the way Python's tarfile reads them (which legacy torch.load uses), so that
the scan sees the members a loader sees."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airlock.scan.context import Buffer

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
# Types whose data blocks tarfile does not skip: links, devices, folders, FIFOs.
NO_DATA_TYPES = frozenset("123456")
GNU_TYPES = frozenset("LKS")
_V7_TYPES = frozenset("\x0001234567")
_PAX_RECORD = re.compile(rb"(\d{1,19}) ([^=]+)=")
_ASCII = bytes(range(0x80))


@dataclass(frozen=True)
class Header:
    name: str  # with the ustar prefix applied
    linkname: str
    size: int
    type: str  # the one-character type flag
    checksum_ok: bool
    sparse: tuple[tuple[int, int], ...]  # old GNU sparse ('S'): (offset, size) of data runs
    extended: bool  # old GNU sparse: more runs follow in extension blocks
    real_size: int  # old GNU sparse: the size of the file with its holes


def number(field: bytes) -> int | None:
    """A numeric field: octal text, or GNU base-256 for what octal cannot hold."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    if field[:1] == b"\xff":
        return int.from_bytes(field, "big", signed=True)
    try:
        return int(field.split(b"\x00", 1)[0].strip() or b"0", 8)
    except ValueError:
        return None


def text(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def checksum_ok(block: bytes) -> bool:
    stored = number(block[148:156])
    if stored is None:
        return False
    unsigned = sum(block) - sum(block[148:156]) + 8 * 0x20
    if stored == unsigned:
        return True
    # Some old writers summed signed bytes; tarfile accepts either. (Bytes >= 0x80 counted
    # by deleting the others: this runs on the head of every file.)
    high = len((block[:148] + block[156:]).translate(None, _ASCII))
    return stored == unsigned - 256 * high


def looks_like_tar(head: Buffer) -> bool:
    """A ustar/GNU magic at byte 257, or a V7 header (no magic) whose every field agrees."""
    block = bytes(head[:BLOCK])
    if block[257:265] in (b"ustar\x0000", b"ustar  \x00"):
        return True  # even when cut short: the reader reports that
    if (
        len(block) < BLOCK
        or block[0] == 0
        or chr(block[156]) not in _V7_TYPES
        or not checksum_ok(block)
    ):
        return False
    fields = (block[100:108], block[108:116], block[116:124], block[124:136], block[136:148])
    return all(f[:1] not in (b"\x80", b"\xff") and number(f) is not None for f in fields)


def parse_header(block: bytes) -> Header | None:
    """None when the block cannot be a header (its size field is not a number)."""
    size = number(block[124:136])
    if size is None:
        return None
    kind = chr(block[156]) if block[156] else "\x00"
    name, prefix = text(block[:100]), text(block[345:500])
    if prefix and kind not in GNU_TYPES:
        name = f"{prefix}/{name}"
    if kind == "\x00" and name.endswith("/"):
        kind = "5"
    runs: tuple[tuple[int, int], ...] = ()
    extended, real_size = False, size
    if kind == "S":
        runs = sparse_runs(block[386:482], 4)
        extended, real_size = bool(block[482]), number(block[483:495]) or 0
    return Header(
        name, text(block[157:257]), size, kind, checksum_ok(block), runs, extended, real_size
    )


def sparse_runs(area: bytes, count: int) -> tuple[tuple[int, int], ...]:
    """(offset, size) pairs of 24 bytes each; stops at the first unreadable or empty one."""
    runs = []
    for at in range(0, 24 * count, 24):
        offset, size = number(area[at : at + 12]), number(area[at + 12 : at + 24])
        if offset is None or not size or offset < 0 or size < 0:
            break
        runs.append((offset, size))
    return tuple(runs)


def pax_records(data: bytes) -> tuple[list[tuple[str, str]], bool]:
    """The `length key=value\\n` records in order, and False when one is malformed."""
    records: list[tuple[str, str]] = []
    pos = 0
    while (match := _PAX_RECORD.match(data, pos)) is not None:
        length = int(match.group(1))
        if length == 0:
            return records, False
        value = data[match.end() : match.start(1) + length - 1]
        records.append((text(match.group(2)), _decode(value)))
        pos += length
    return records, True


def pax_sparse_map(value: str) -> tuple[tuple[int, int], ...] | None:
    """GNU.sparse.map (format 0.1): `offset,size,offset,size,...`."""
    try:
        numbers = [int(part) for part in value.split(",")]
    except ValueError:
        return None
    return tuple(zip(numbers[::2], numbers[1::2], strict=False))


def gnu_sparse_10(data: bytes) -> tuple[tuple[int, int], ...] | None:
    """Format 1.0's map at the start of the data: a count, then offset and size, one a line."""
    lines = data.split(b"\n")
    try:
        count = int(lines[0])
        numbers = [int(line) for line in lines[1 : 1 + 2 * count]]
    except ValueError:
        return None
    if count < 0 or len(numbers) < 2 * count:
        return None
    return tuple(zip(numbers[::2], numbers[1::2], strict=False))


def map_length(data: bytes, runs: int) -> int:
    """Bytes taken by a 1.0 map of `runs` runs, rounded up to whole blocks."""
    used = sum(len(line) + 1 for line in data.split(b"\n")[: 1 + 2 * runs])
    return -(-used // BLOCK) * BLOCK


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
