"""Tar archives (also legacy PyTorch checkpoints: `sys_info`, `pickle`, `storages`, `tensors`):
links, devices and escaping paths are findings; every file member is scanned by content."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from airlock.findings import Finding, Severity
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext
from airlock.scan.formats.archive_common import escapes, is_absolute
from airlock.scan.formats.detect import HEAD_BYTES
from airlock.scan.formats.pickle.loader_layouts import layouts
from airlock.scan.formats.pickle.opcodes import looks_like_pickle
from airlock.scan.formats.pickle_reader import PickleReader
from airlock.scan.formats.tar_archive import Member, open_archive

_DEVICES = {"3": "a character device", "4": "a block device", "6": "a FIFO (named pipe)"}


class TarReader(Reader):
    kinds = (Kind.TAR,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        archive = open_archive(blob.data)
        for message in archive.limits:
            yield ctx.finding("AIR003", blob, blob.location, message)
        budget = [ctx.max_decompressed_bytes]  # shared by every sparse member's holes
        for member in archive.members:
            yield from _check_member(member, blob, ctx)
            if member.has_data:
                yield from _scan_member(member, blob, ctx, budget)
        if archive.broken is not None:
            offset, why = archive.broken
            message = f"The tar archive is truncated or corrupt ({why}); the rest was not read."
            yield ctx.finding("AIR001", blob, blob.location.at(offset), message)
        for message in archive.anomalies.messages():
            text = f"The tar headers are inconsistent: {message}."
            yield ctx.finding("AIR201", blob, blob.location, text)


def _check_member(member: Member, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    where = blob.location.inside(member.name)
    if escapes(member.name):
        message = f"The member path `{member.name}` escapes the folder it is extracted to."
        yield ctx.finding("AIR202", blob, where, message)
    if member.type in ("1", "2"):
        link = member.linkname
        if member.type == "1":
            kind, out = "hard link", escapes(link)  # named from the archive's root
        else:
            kind, out = "symbolic link", _symlink_escapes(member.name, link)
        if out:
            message = f"The {kind} `{member.name}` points to `{link}`, outside the folder."
            yield ctx.finding("AIR202", blob, where, message)
        severity = Severity.HIGH if out else Severity.MEDIUM
        message = f"`{member.name}` is a {kind} to `{link}`; extracting it creates the link."
        yield ctx.finding("AIR203", blob, where, message, link, severity)
    elif member.type in _DEVICES:
        message = (
            f"`{member.name}` is {_DEVICES[member.type]}; extracting it (as root) creates a "
            "special file, which a model never needs."
        )
        yield ctx.finding("AIR204", blob, where, message)


def _symlink_escapes(name: str, target: str) -> bool:
    # A relative target is resolved from the link's own folder.
    if is_absolute(target):
        return True
    folder = posixpath.dirname(name.replace("\\", "/"))
    resolved = posixpath.normpath(posixpath.join(folder, target.replace("\\", "/")))
    return resolved == ".." or resolved.startswith(("../", "/"))


def _scan_member(
    member: Member, blob: Blob, ctx: ScanContext, budget: list[int]
) -> Iterator[Finding]:
    where = blob.location.inside(member.name)
    end = min(len(blob.data), member.data_offset + member.size)
    data: Buffer = memoryview(blob.data)[member.data_offset : end]
    if end - member.data_offset < member.size:
        message = (
            f"`{member.name}` declares {member.size} bytes but the file ends after "
            f"{end - member.data_offset}; a lenient loader may still read them, and they were "
            "scanned."
        )
        yield ctx.finding("AIR001", blob, where, message)
    if member.sparse is not None:
        data, cut = _expand(data, member, budget)
        if cut:
            message = (
                f"The sparse member `{member.name}` expands past {ctx.max_decompressed_bytes} "
                "bytes (holes included, for the whole archive); only the first part was scanned."
            )
            yield ctx.finding("AIR003", blob, where, message)
    if member.name in layouts().torch_legacy.pickled_members and not looks_like_pickle(
        data[:HEAD_BYTES]
    ):
        # torch.load unpickles these members of a legacy checkpoint whatever they look like.
        yield from PickleReader().scan(Blob(data, blob.file, where, member.name), ctx)
        return
    yield from ctx.scan_nested(data, where, member.name)


def _expand(stored: Buffer, member: Member, budget: list[int]) -> tuple[Buffer, bool]:
    """The file a sparse member stands for: its runs at their offsets, zeros in the holes."""
    runs = [(o, n) for o, n in member.sparse or () if o >= 0 and n > 0]
    if len(runs) == 1 and runs[0][0] == 0:
        return stored[: runs[0][1]], False  # one run from the start: no holes to fill
    ends = [o + n for o, n in runs]
    size = max(ends, default=0)
    if member.real_size >= 0:
        size = min(size, member.real_size)
    allowed = min(size, budget[0])
    budget[0] -= allowed
    out = bytearray(allowed)
    cursor = 0
    for offset, length in runs:
        if offset < allowed:
            piece = stored[cursor : cursor + min(length, allowed - offset)]
            out[offset : offset + len(piece)] = piece
        cursor += length
    return out, allowed < size
