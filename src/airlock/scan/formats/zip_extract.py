"""Read one zip member's bytes: stored ones as views of the archive, compressed ones bounded."""

from __future__ import annotations

import bz2
import enum
import functools
import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from airlock.scan.context import Buffer
from airlock.scan.formats.decompress import Decompressor, ZlibStream, decompress
from airlock.scan.formats.zip_archive import Member

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
ENCRYPTED = 0x1  # general-purpose flag bit


class Status(enum.Enum):
    OK = "ok"
    TOO_BIG = "too big"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Extracted:
    data: Buffer  # at most the limit; a stored member is a view of the archive, not a copy
    status: Status
    detail: str = ""


def extract(buf: Buffer, member: Member, limit: int) -> Extracted:
    """The member's bytes, decompressing at most `limit` of them (a stored member is not
    copied, so it is never cut to the limit)."""
    start = member.data_offset
    end = min(len(buf), start + member.compressed_size)
    if member.method == STORED:
        view = memoryview(buf)[start:end]
        if end - start < member.compressed_size:
            return Extracted(view, Status.CORRUPT, "the member is cut short by the end of file")
        return Extracted(view, Status.OK)
    make: Callable[[], Decompressor]
    if member.method == DEFLATED:
        make = functools.partial(ZlibStream, -zlib.MAX_WBITS)
    elif member.method == BZIP2:
        make = bz2.BZ2Decompressor
    elif member.method == LZMA:
        start, make = _lzma_stream(buf, start)
    else:
        return Extracted(b"", Status.UNSUPPORTED, f"compression method {member.method}")
    result = decompress(buf, start, end, make, limit)
    if result.over_limit:
        return Extracted(memoryview(result.data)[:limit], Status.TOO_BIG)
    if result.error is not None:
        return Extracted(result.data, Status.CORRUPT, result.error)
    return Extracted(result.data, Status.OK)


def crc_matches(data: Buffer, member: Member) -> bool:
    return member.crc is None or zlib.crc32(data) == member.crc


def _lzma_stream(buf: Buffer, start: int) -> tuple[int, Callable[[], Decompressor]]:
    # Zip's LZMA: a 2-byte version, a 2-byte properties length, then raw LZMA1 properties.
    props_len = int.from_bytes(bytes(buf[start + 2 : start + 4]), "little")
    props = bytes(buf[start + 4 : start + 4 + props_len])
    pb, rest = divmod(props[0] if props else 0, 45)
    lp, lc = divmod(rest, 9)
    dict_size = int.from_bytes(props[1:5], "little")
    lzma1 = {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
    return start + 4 + props_len, lambda: lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
