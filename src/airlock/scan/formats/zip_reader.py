"""Zip archives (PyTorch checkpoints, .npz, .mar, ...): every member detected by content and
scanned, except PyTorch's raw tensor storage, which loading never unpickles."""

from __future__ import annotations

from collections.abc import Iterator

from airlock.findings import Finding
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext
from airlock.scan.formats.archive_common import escapes
from airlock.scan.formats.detect import HEAD_BYTES, detect
from airlock.scan.formats.numpy_reader import NPY_MAGIC, parse_header, size_problem
from airlock.scan.formats.zip_archive import Archive, Member, open_archive
from airlock.scan.formats.zip_extract import ENCRYPTED, STORED, Status, crc_matches, extract

# Stored members up to this size have their CRC checked.
_CHEAP_CRC = 16 << 20
_FAKE_ENCRYPTION = "marked as encrypted but stored in plain, which PyTorch reads anyway"


class ZipReader(Reader):
    kinds = (Kind.ZIP,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        archive = open_archive(blob.data)
        for message in archive.limits:
            yield ctx.finding("AIR003", blob, blob.location, message)
        if not archive.members and archive.anomalies.messages():
            message = "The file starts like a zip archive but no member could be read from it."
            yield ctx.finding("AIR001", blob, blob.location, message)
        storage = _tensor_storage(archive)
        for member in archive.members:
            yield from _check_path(member, blob, ctx)
            if member.name.endswith("/") and member.size == 0:
                continue  # a folder entry
            if member.name in storage and member.local_name is None:
                if member.flags & ENCRYPTED:
                    archive.anomalies.add(_FAKE_ENCRYPTION, member.name)
                continue  # raw tensor bytes: PyTorch copies them into storage, never unpickles
            yield from _scan_member(blob, member, archive, ctx)
        for message in archive.anomalies.messages():
            text = f"The zip headers are inconsistent: {message}."
            yield ctx.finding("AIR201", blob, blob.location, text)
        for message in archive.disagreements:
            text = (
                f"Zip readers disagree on what this archive holds: {message}. Every reading "
                "was scanned, but such a file is built to show scanners other content than "
                "loaders; do not load it."
            )
            yield ctx.finding("AIR206", blob, blob.location, text)


def _scan_member(
    blob: Blob, member: Member, archive: Archive, ctx: ScanContext
) -> Iterator[Finding]:
    where = blob.location.inside(member.name)
    head = extract(blob.data, member, HEAD_BYTES)
    if head.status is Status.UNSUPPORTED:
        message = f"`{member.name}` uses {head.detail}, which Airlock cannot decompress."
        yield ctx.finding("AIR002", blob, where, message)
        return
    if member.flags & ENCRYPTED:
        kind = detect(head.data[:HEAD_BYTES], member.name)
        if head.status is Status.CORRUPT or kind is Kind.UNKNOWN:
            message = f"`{member.name}` is encrypted, so its content could not be inspected."
            yield ctx.finding("AIR002", blob, where, message)
            return
        archive.anomalies.add(_FAKE_ENCRYPTION, member.name)
    if member.method != STORED and bytes(head.data[:6]) == NPY_MAGIC:
        # A plain array needs only its header: skip decompressing what numpy never unpickles.
        header = parse_header(head.data)
        if not isinstance(header, str) and header.objects is False:
            problem = size_problem(header, member.size) if member.size >= 0 else None
            if problem is not None:
                yield ctx.finding("AIR001", blob, where, problem)
            return
    limit = ctx.max_decompressed_bytes
    # A stored member is a view of all its bytes whatever the limit: the head is the whole.
    full = head if member.method == STORED else extract(blob.data, member, limit)
    if full.status is Status.TOO_BIG:
        message = (
            f"`{member.name}` decompresses to more than {limit} bytes (a possible zip bomb); "
            "only the first part was inspected."
        )
        yield ctx.finding("AIR003", blob, where, message)
    elif full.status is Status.CORRUPT:
        message = (
            f"`{member.name}` is corrupt ({full.detail}); a lenient loader may still run the "
            f"{len(full.data)} bytes before the break, and they were scanned."
        )
        yield ctx.finding("AIR001", blob, where, message)
    elif _crc_wrong(full.data, member):
        archive.anomalies.add("the CRC does not match the data, which PyTorch ignores", member.name)
    yield from ctx.scan_nested(full.data, where, member.name)


def _crc_wrong(data: Buffer, member: Member) -> bool:
    # Decompressed data is in hand anyway; big stored data is not read only for its CRC.
    checked = member.method != STORED or member.size <= _CHEAP_CRC
    return checked and not crc_matches(data, member)


def _tensor_storage(archive: Archive) -> set[str]:
    """Members named `<prefix>/data/<digits>` next to a `<prefix>/data.pkl`."""
    prefixes = {
        m.name[: -len("data.pkl")]
        for m in archive.members
        if m.name == "data.pkl" or m.name.endswith("/data.pkl")
    }
    storage = set()
    for member in archive.members:
        prefix, sep, key = member.name.rpartition("data/")
        if sep and prefix in prefixes and key.isascii() and key.isdigit():
            storage.add(member.name)
    return storage


def _check_path(member: Member, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    for name in dict.fromkeys((member.name, member.local_name or member.name)):
        if escapes(name):
            message = f"The member path `{name}` escapes the folder it is extracted to."
            yield ctx.finding("AIR202", blob, blob.location.inside(member.name), message)
    if member.is_link:
        message = f"`{member.name}` is a symbolic link; extracting it can point outside."
        yield ctx.finding("AIR203", blob, blob.location.inside(member.name), message)
