"""HDF5 files (legacy Keras .h5): the root's `model_config` / `training_config` attributes.

Full HDF5 object-header parsing is not needed to find them: attribute messages are located by
their name and decoded in place (attribute message versions 1-3, fixed-length or variable-length
string values, the latter read from the global heap). A file where the name occurs but no
value decodes falls back to the JSON objects that Keras configs start with. A file with neither
is weights only, and has nothing that runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from airlock.findings import Finding
from airlock.scan.analyzers.keras_config import KerasConfigAnalyzer
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
_ATTRIBUTE_NAME = re.compile(rb"(model_config|training_config)\x00")
_CONFIG_START = re.compile(rb'\{\s*"(?:class_name|module)"\s*:')
_STRING, _VLEN = 3, 9  # datatype classes


def superblock_offset(data: Buffer) -> int | None:
    """Where the superblock is: offset 0, 512, 1024, 2048, ... (after a user block)."""
    offset = 0
    while offset + len(HDF5_MAGIC) <= len(data):
        if data[offset : offset + len(HDF5_MAGIC)] == HDF5_MAGIC:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


class Hdf5Reader(Reader):
    kinds = (Kind.HDF5,)

    def __init__(self) -> None:
        self.analyzer = KerasConfigAnalyzer()

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        data = blob.data
        base = superblock_offset(data)
        if base is None:
            return
        sizes = _sizes(data, base)
        seen: set[str] = set()
        decoded: set[str] = set()
        for match in _ATTRIBUTE_NAME.finditer(data):
            name = match.group(1).decode()
            seen.add(name)
            value = _attribute_value(data, match.start(), len(name) + 1, base, sizes)
            document = _json(value) if value is not None else None
            if value is None or document is None:
                continue
            decoded.add(name)
            inner = Blob(value, blob.file, blob.location.inside(name), name)
            yield from self.analyzer.analyze(document, inner, ctx)
        if "model_config" in seen - decoded:
            yield from self._fallback(blob, ctx)

    def _fallback(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        found, pos = False, 0
        while (match := _CONFIG_START.search(blob.data, pos)) is not None:
            pos = match.end()
            end = min(match.start() + MAX_CONFIG_BYTES, len(blob.data))
            raw = bytes(blob.data[match.start() : end]).split(b"\x00", 1)[0]
            try:
                text = raw.decode("utf-8")
                document, used = json.JSONDecoder().raw_decode(text)
            except (ValueError, RecursionError):
                continue
            found = True
            pos = match.start() + len(text[:used].encode())  # past this config's inner objects
            location = blob.location.inside("model_config").at(match.start())
            inner = Blob(raw, blob.file, location, "model_config")
            yield from self.analyzer.analyze(document, inner, ctx)
        if not found:
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location,
                "The HDF5 file has a Keras `model_config` attribute that Airlock could not "
                "decode, so the model config could not be inspected.",
            )


def _sizes(data: Buffer, base: int) -> tuple[int, int]:
    """(size of offsets, size of lengths) from the superblock; 8 and 8 when unreadable."""
    version = data[base + 8] if base + 8 < len(data) else 0
    at = base + (13 if version < 2 else 9)
    if at + 1 < len(data) and data[at] in (2, 4, 8) and data[at + 1] in (2, 4, 8):
        return data[at], data[at + 1]
    return 8, 8


def _attribute_value(
    data: Buffer, name_at: int, name_size: int, base: int, sizes: tuple[int, int]
) -> bytes | None:
    """The value of the attribute message whose name starts at `name_at`, if it is one."""
    for header, version in ((name_at - 8, 1), (name_at - 8, 2), (name_at - 9, 3)):
        if header < 0 or data[header] != version or _u(data, header + 2, 2) != name_size:
            continue
        if version > 1 and data[header + 1] & 0x03:
            continue  # a shared (committed) datatype or dataspace: not how Keras writes configs
        type_size, space_size = _u(data, header + 4, 2), _u(data, header + 6, 2)
        if version == 1:
            type_at = header + 8 + _pad8(name_size)
            space_at = type_at + _pad8(type_size)
            value_at = space_at + _pad8(space_size)
        else:
            type_at = name_at + name_size
            space_at = type_at + type_size
            value_at = space_at + space_size
        if value_at > len(data) or _elements(data, space_at, sizes[1]) != 1:
            continue
        return _string(data, type_at, value_at, base, sizes)
    return None


def _elements(data: Buffer, at: int, length_size: int) -> int | None:
    """How many elements a dataspace message describes (1 for a scalar)."""
    if at + 8 > len(data):
        return None
    version, rank = data[at], data[at + 1]
    dims_at = at + (8 if version == 1 else 4)
    if version not in (1, 2) or rank > 32 or dims_at + rank * length_size > len(data):
        return None
    if version == 2 and data[at + 3] == 2:
        return 0  # a null dataspace
    count = 1
    for index in range(rank):
        count *= _u(data, dims_at + index * length_size, length_size)
    return count


def _string(
    data: Buffer, type_at: int, value_at: int, base: int, sizes: tuple[int, int]
) -> bytes | None:
    type_class, size = data[type_at] & 0x0F, _u(data, type_at + 4, 4)
    if type_class == _STRING and size <= MAX_CONFIG_BYTES:
        return bytes(data[value_at : value_at + size]).rstrip(b"\x00 ")
    if type_class != _VLEN:
        return None
    # A variable-length value: sequence length (4), global heap collection address, index (4).
    offset_size = sizes[0]
    length = _u(data, value_at, 4)
    collection = _u(data, value_at + 4, offset_size)
    index = _u(data, value_at + 4 + offset_size, 4)
    found = _heap_object(data, base + collection, index, sizes[1])
    return found[:length] if found is not None and length <= len(found) else None


def _heap_object(data: Buffer, at: int, index: int, length_size: int) -> bytes | None:
    """Object `index` of the global heap collection at `at` ("GCOL", version 1)."""
    if data[at : at + 4] != b"GCOL" or at + 8 + length_size > len(data):
        return None
    end = min(at + _u(data, at + 8, length_size), len(data))
    pos = at + 8 + length_size
    while pos + 8 + length_size <= end:
        object_index, size = _u(data, pos, 2), _u(data, pos + 8, length_size)
        start = pos + 8 + length_size
        if object_index == 0 or start + size > end:
            return None  # free space, or a corrupt object
        if object_index == index:
            return bytes(data[start : start + min(size, MAX_CONFIG_BYTES)])
        pos = start + _pad8(size)
    return None


def _json(value: bytes) -> object | None:
    try:
        document: object = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return document


def _u(data: Buffer, at: int, size: int) -> int:
    return int.from_bytes(bytes(data[at : at + size]), "little")


def _pad8(size: int) -> int:
    return (size + 7) // 8 * 8
