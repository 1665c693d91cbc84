"""Walk a tar archive's headers: every member with the name, link and size a reader ends up
with after GNU long names, PAX overrides and sparse maps, plus every oddity on the way."""

from __future__ import annotations

from dataclasses import dataclass, field

from airlock.scan.context import Buffer
from airlock.scan.formats import tar_headers as th
from airlock.scan.formats.archive_common import Anomalies

MAX_MEMBERS = 100_000
# Extended headers and long names are text; more than this is not a real header.
MAX_HEADER_DATA = 1 << 20
# tar writers pad to 10 KiB records: a longer run of zero blocks is the end of the archive.
_MAX_ZERO_RUN = 2 * 10240 // th.BLOCK
_MAX_EXTENSION_BLOCKS = 10_000


@dataclass(frozen=True)
class Member:
    name: str
    linkname: str
    type: str
    header_offset: int
    data_offset: int
    size: int  # stored bytes from data_offset (a sparse file's runs, back to back)
    sparse: tuple[tuple[int, int], ...] | None  # (offset, size) runs; None: not sparse
    real_size: int

    @property
    def has_data(self) -> bool:
        # tarfile reads every type it does not know as a regular file.
        return self.type not in th.NO_DATA_TYPES


@dataclass
class Archive:
    members: list[Member] = field(default_factory=list)
    anomalies: Anomalies = field(default_factory=Anomalies)
    limits: list[str] = field(default_factory=list)  # limits that left part of it unread
    broken: tuple[int, str] | None = None  # where and why the walk had to stop


class _Walk:
    def __init__(self, buf: Buffer) -> None:
        self.buf = buf
        self.archive = Archive()
        self.global_pax: dict[str, str] = {}
        # Overrides for the next member; as in tarfile, the outermost header wins.
        self.local: dict[str, str] = {}
        self.sparse_00: list[tuple[int, int]] = []

    def run(self) -> Archive:
        pos, zeros = 0, 0
        buf, archive = self.buf, self.archive
        while pos + th.BLOCK <= len(buf):
            if len(archive.members) >= MAX_MEMBERS:
                archive.limits.append(
                    f"The archive has more than {MAX_MEMBERS} members; the rest were not inspected."
                )
                return archive
            block = bytes(buf[pos : pos + th.BLOCK])
            if block == th.ZERO_BLOCK:
                zeros, pos = zeros + 1, pos + th.BLOCK
                if zeros > _MAX_ZERO_RUN:
                    return archive
                continue
            header = th.parse_header(block)
            if header is None:
                if not zeros:
                    archive.broken = (pos, f"the block at byte {pos} is not a tar header")
                return archive
            if zeros:
                archive.anomalies.add(
                    "members follow the end-of-archive marker, where tarfile and tar stop reading",
                    header.name,
                )
            zeros = 0
            pos = self._header(header, pos)
            if pos < 0:
                return archive
        # Fewer than 512 bytes are left: a header cut short, unless they are padding.
        if not zeros and bytes(buf[pos:]).strip(b"\x00"):
            archive.broken = (pos, f"a header at byte {pos} is cut short by the end of the file")
        return archive

    def _header(self, header: th.Header, pos: int) -> int:
        """Process one header; the offset of the next one (-1: the archive ends here)."""
        if not header.checksum_ok:
            self.archive.anomalies.add("the header checksum is wrong", header.name)
        if header.size < 0:
            self.archive.anomalies.add("a size is negative", header.name)
        data_at, size = pos + th.BLOCK, max(header.size, 0)
        if header.type in ("x", "g", "X", "L", "K"):
            if data_at + size > len(self.buf):
                message = f"the extended header at byte {pos} runs past the end of the file"
                self.archive.broken = (pos, message)
                return -1
            data = bytes(self.buf[data_at : data_at + min(size, MAX_HEADER_DATA)])
            if size > MAX_HEADER_DATA:
                self.archive.limits.append(
                    f"An extended header at byte {pos} holds {size} bytes; only the first "
                    f"{MAX_HEADER_DATA} were read."
                )
            self._extended(header.type, data)
            return data_at + _padded(size)
        return self._member(header, pos, data_at)

    def _extended(self, kind: str, data: bytes) -> None:
        if kind in ("L", "K"):
            self.local.setdefault("path" if kind == "L" else "linkpath", th.text(data))
            return
        records, ok = th.pax_records(data)
        if not ok:
            self.archive.anomalies.add("an extended header has a malformed record")
        if kind == "g":
            self.global_pax.update(records)
            return
        here = dict(records)
        for key, value in here.items():
            self.local.setdefault(key, value)
        offsets = [_int(v) for k, v in records if k == "GNU.sparse.offset"]
        sizes = [_int(v) for k, v in records if k == "GNU.sparse.numbytes"]
        self.sparse_00 += zip(offsets, sizes, strict=False)

    def _member(self, header: th.Header, pos: int, data_at: int) -> int:
        info = {**self.global_pax, **self.local}
        self.local, sparse_00, self.sparse_00 = {}, self.sparse_00, []
        name = header.name
        if "path" in info:
            name = info["path"].rstrip("/") or info["path"]
        name = info.get("GNU.sparse.name", name)
        linkname = info.get("linkpath", header.linkname)
        stored = max(_int(info["size"]) if "size" in info else header.size, 0)
        if header.type in th.NO_DATA_TYPES and stored:
            self.archive.anomalies.add("a link, folder or device declares a size", name)
            stored = 0
        runs = header.sparse
        if header.extended:
            data_at, runs = self._extension_blocks(data_at, runs)
            if data_at < 0:
                return -1
        next_at = data_at + _padded(stored)
        sparse, real, taken = self._sparse(header.type, runs, header.real_size, info, sparse_00)
        if taken:  # format 1.0: the map fills the first blocks of the data
            head = bytes(self.buf[data_at : data_at + min(stored, MAX_HEADER_DATA)])
            sparse = th.gnu_sparse_10(head) or ()
            taken = min(th.map_length(head, len(sparse)), stored)
        member = Member(name, linkname, header.type, pos, data_at + taken, stored - taken,
                        sparse, real)  # fmt: skip
        self.archive.members.append(member)
        # A member cut short is reported with the member; nothing can follow it.
        return next_at if data_at + stored <= len(self.buf) else -1

    def _extension_blocks(
        self, data_at: int, runs: tuple[tuple[int, int], ...]
    ) -> tuple[int, tuple[tuple[int, int], ...]]:
        """Old GNU sparse: 21 more runs per block while each block says another follows."""
        for _ in range(_MAX_EXTENSION_BLOCKS):
            block = bytes(self.buf[data_at : data_at + th.BLOCK])
            if len(block) < th.BLOCK:
                self.archive.broken = (data_at, "a sparse map runs past the end of the file")
                return -1, runs
            runs += th.sparse_runs(block, 21)
            data_at += th.BLOCK
            if not block[504]:
                return data_at, runs
        self.archive.limits.append(
            f"A sparse map at byte {data_at} goes on for more than {_MAX_EXTENSION_BLOCKS} blocks."
        )
        return -1, runs

    def _sparse(
        self,
        kind: str,
        runs: tuple[tuple[int, int], ...],
        real_size: int,
        info: dict[str, str],
        sparse_00: list[tuple[int, int]],
    ) -> tuple[tuple[tuple[int, int], ...] | None, int, int]:
        """The runs, the real size, and 1 when a format 1.0 map precedes the data."""
        real = _int(info.get("GNU.sparse.realsize", info.get("GNU.sparse.size", "")), -1)
        if kind == "S":
            return runs, real_size, 0
        if "GNU.sparse.map" in info:
            return th.pax_sparse_map(info["GNU.sparse.map"]) or (), real, 0
        if "GNU.sparse.size" in info:
            return tuple(sparse_00), real, 0
        if info.get("GNU.sparse.major") == "1" and info.get("GNU.sparse.minor") == "0":
            return (), real, 1
        return None, real, 0


def open_archive(buf: Buffer) -> Archive:
    return _Walk(buf).run()


def _padded(size: int) -> int:
    return -(-size // th.BLOCK) * th.BLOCK


def _int(value: str, default: int = 0) -> int:
    # tarfile reads an unreadable PAX size as 0.
    try:
        return int(value[:20])
    except ValueError:
        return default
