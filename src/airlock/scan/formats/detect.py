"""Decide what a file is: its primary kind from its first bytes (magic numbers first, the name
only as a hint), and every other kind a loader may read the same bytes as (`readings`)."""

from __future__ import annotations

import re
import struct
import zlib

from airlock.findings import Severity
from airlock.headers.safetensors import MAX_HEADER as SAFETENSORS_MAX_HEADER
from airlock.scan.context import Buffer, Kind
from airlock.scan.formats.pickle.opcodes import FIRST_OPCODE_BYTES, looks_like_pickle
from airlock.scan.formats.pickle.probe import unpickling
from airlock.scan.formats.raw_tensors_reader import is_raw_tensors
from airlock.scan.formats.tar_headers import looks_like_tar

HEAD_BYTES = 4096

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_COMPRESSED_MAGICS = (
    b"\x1f\x8b",  # gzip
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"\x04\x22\x4d\x18",  # lz4 frame
    b"ZF0x",  # joblib's legacy zlib container: "ZF" + hex length + zlib data
    b"\x5d\x00\x00",  # lzma "alone" format (joblib compress="lzma")
)
_SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)
_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2", ".template")
_YAML_SUFFIXES = (".yaml", ".yml")
_YAML_NAMES = ("MLmodel",)  # MLflow's model descriptor: YAML without an extension
_NAMED_SUFFIXES = (*_YAML_SUFFIXES, *_TEMPLATE_SUFFIXES, ".py")

# Names that say "this is a model file": one whose content is unrecognized is reported, not
# skipped. Names of formats that run code on load are high; generic binary names (raw tensor
# data, ONNX external data, fastText) are medium.
CODE_CAPABLE_SUFFIXES = (
    ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".mar", ".pt2",
    ".pkl.gz", ".sav", ".dill", ".p", ".onnx", ".h5", ".hdf5", ".keras",
)  # fmt: skip
GENERIC_BINARY_SUFFIXES = (".bin", ".dat", ".data", ".model")


def detect(head: Buffer, name: str) -> Kind:
    """The kind of a blob whose first bytes are `head` (at least HEAD_BYTES when available)."""
    return _detect(bytes(head[:HEAD_BYTES]), name)


def _detect(head: bytes, name: str) -> Kind:
    """`detect` for a head already cut to HEAD_BYTES."""
    if head.startswith(_ZIP_MAGICS):
        return Kind.ZIP
    if head.startswith(b"\x93NUMPY"):
        return Kind.NUMPY
    if head.startswith(_SEVEN_ZIP_MAGIC):
        return Kind.SEVEN_ZIP
    if head.startswith(_COMPRESSED_MAGICS):
        return Kind.COMPRESSED
    if head.startswith(b"GGUF"):
        return Kind.GGUF
    if _is_safetensors(head):
        return Kind.SAFETENSORS
    if looks_like_tar(head):
        return Kind.TAR
    if looks_like_pickle(head):
        return Kind.PICKLE
    if _is_hdf5(head):
        return Kind.HDF5
    # Protobuf formats have no magic: their structure is checked after every magic number,
    # and only when the first byte is a field tag they start with (probing costs ~100 us).
    if head[:1] in _PROTOBUF_FIRST_TAGS:
        # Imported here, not at the top: most scans never see a protobuf (start-up time).
        from airlock.scan.formats.onnx_reader import looks_like_onnx
        from airlock.scan.formats.tf_savedmodel_reader import (
            looks_like_graph_def,
            looks_like_savedmodel,
        )

        if looks_like_savedmodel(head, name):
            return Kind.TF_SAVEDMODEL
        if looks_like_graph_def(head, name):
            return Kind.TF_GRAPHDEF
        if looks_like_onnx(head, name):
            return Kind.ONNX
        from airlock.scan.formats.sentencepiece_reader import looks_like_sentencepiece

        if looks_like_sentencepiece(head):
            return Kind.SENTENCEPIECE
    if _is_zlib(head):
        return Kind.COMPRESSED
    if _is_python(head, name):
        return Kind.PYTHON
    if _is_yaml(name):
        return Kind.YAML
    if is_raw_tensors(name):  # by name, after every format with a signature or a structure
        return Kind.RAW_TENSORS
    if _is_text(head):
        if _is_template(head, name):
            return Kind.TEMPLATE
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
            return Kind.JSON
        return Kind.TEXT
    return Kind.UNKNOWN


def readings(data: Buffer, name: str) -> tuple[Kind, ...]:
    """Every kind a plausible loader may read `data` as; the first is the primary (`detect`).

    Loaders choose a format by their own rules, not by the first match: `yaml.load`, Jinja and
    Python's import by the file name; `pickle.load` (and `torch.load` after its zip and tar
    attempts, `numpy.load` with allow_pickle) by unpickling from byte 0; tarfile by the header
    in the first 512 bytes; zipfile (Keras) by the end record at the end of the file, whatever
    precedes it; h5py by a superblock at 0, 512, 1024, .... A file valid as several is scanned
    as each. This runs on every file and archive member, so each check is a byte comparison
    or two before anything costlier; the pickle probe runs only when the first byte is an
    opcode a stream can start with.
    """
    head = bytes(data[:HEAD_BYTES])
    primary = _detect(head, name)
    others = _structural_readings(data, head, primary)
    if name.lower().endswith(_NAMED_SUFFIXES) or name.rpartition("/")[2] in _YAML_NAMES:
        named = _named_readings(data, head, name)
        if named and primary is Kind.PICKLE and not _unpickles(data):
            # Text read by its name whose first bytes only look like opcodes: the
            # unpickler fails before any import and builds nothing, so no pickle loader
            # reads it (a stream that imports, or completes, is kept: both readings count).
            primary = named.pop(0)
        others += named
    others = [kind for kind in others if kind is not primary]
    if not others:
        return (primary,)  # the common case
    kinds = [] if primary in _NOT_READINGS else [primary]
    kinds += dict.fromkeys(others)
    return tuple(kinds)


def _unpickles(data: Buffer) -> bool:
    outcome = unpickling(data)
    return outcome.calls or outcome.complete


def _runs_when_unpickled(data: Buffer) -> bool:
    # Bytes of another format are a pickle too when unpickling them calls what they import
    # (or completes having imported something): a stream that merely completes builds
    # plain data, and other formats' bytes can do that by chance (`N.`).
    outcome = unpickling(data)
    return outcome.calls or (outcome.complete and outcome.imports)


def _structural_readings(data: Buffer, head: bytes, primary: Kind) -> list[Kind]:
    """Formats found by structure, whatever matched first (the primary kind may recur)."""
    kinds = []
    maybe_tar = head[257:262] == b"ustar" or (len(head) >= 512 and head[156] in _V7_TYPES)
    if maybe_tar and looks_like_tar(head):
        kinds.append(Kind.TAR)
    # An archive member's data can sit at offset 512 or end the archive; it is scanned as a
    # member, so the archive itself is not also read as that member's format.
    in_archive = primary is Kind.TAR or primary is Kind.ZIP or primary is Kind.SEVEN_ZIP
    if not in_archive and _HDF5_SIGNATURE in head and _is_hdf5(head):
        kinds.append(Kind.HDF5)
    if not in_archive and _zip_at_end(data):
        kinds.append(Kind.ZIP)
    if head[8:9] == b"{" and _is_safetensors(head):
        kinds.append(Kind.SAFETENSORS)
    if (
        primary is not Kind.PICKLE
        and head[:1]
        and head[0] in FIRST_OPCODE_BYTES
        and _runs_when_unpickled(data)
    ):
        kinds.append(Kind.PICKLE)
    return kinds


# Field 1 varint (ONNX ir_version, SavedModel schema version), field 1 or 2 length-delimited
# (GraphDef node, SavedModel meta graph).
_PROTOBUF_FIRST_TAGS = (b"\x08", b"\x0a", b"\x12")


_NOT_READINGS = (Kind.TEXT, Kind.UNKNOWN)
_V7_TYPES = b"\x0001234567"  # a tar header without magic has one of these type flags
_ZIP_END = struct.Struct("<4sHHHHIIH")
_ZIP64_LOCATOR = b"PK\x06\x07"


def _named_readings(data: Buffer, head: bytes, name: str) -> list[Kind]:
    """Formats a loader reads by the file name alone, whatever the bytes say."""
    kinds = []
    if _is_yaml(name):
        kinds.append(Kind.YAML)
    if _is_python(head, name):
        kinds.append(Kind.PYTHON)
    if name.lower().endswith(_TEMPLATE_SUFFIXES) and (
        _find(data, b"{{") >= 0 or _find(data, b"{%") >= 0
    ):
        kinds.append(Kind.TEMPLATE)
    return kinds


def _zip_at_end(data: Buffer) -> bool:
    """An end-of-central-directory record in the last 64 KiB whose directory is really there.

    zipfile finds the record from the end, so a zip is read whatever bytes precede it (a
    pickle, a GGUF). The directory's first entry must sit where the record says (allowing for
    the prepended bytes), so that tensor data that merely contains the signature is no zip.
    """
    base = max(0, len(data) - _ZIP_END.size - 0xFFFF)
    if isinstance(data, memoryview):  # no rfind: search a copy of the tail
        data, base = bytes(data[base:]), 0
    at = data.rfind(b"PK\x05\x06", base)  # in place on bytes and mmap: no copy
    if at < 0 or len(data) - at < _ZIP_END.size:
        return False
    *_, cd_size, _cd_offset, _ = _ZIP_END.unpack_from(data, at)
    if at >= 20 and bytes(data[at - 20 : at - 16]) == _ZIP64_LOCATOR:
        return True
    start = at - cd_size
    return cd_size > 0 and start >= 0 and bytes(data[start : start + 4]) == b"PK\x01\x02"


def _find(data: Buffer, needle: bytes) -> int:
    if isinstance(data, memoryview):
        return bytes(data).find(needle)
    return data.find(needle)


def unrecognized_severity(name: str) -> Severity | None:
    """How much an unrecognized file with this name matters, or None for ordinary names."""
    lowered = name.lower()
    if lowered.endswith(CODE_CAPABLE_SUFFIXES):
        return Severity.HIGH
    if lowered.endswith(GENERIC_BINARY_SUFFIXES):
        return Severity.MEDIUM
    return None


def _is_hdf5(head: bytes) -> bool:
    # The superblock signature sits at offset 0, 512, 1024, ...; the reader (and its imports)
    # is loaded only when the signature is in the head at all.
    if _HDF5_SIGNATURE not in head:
        return False
    from airlock.scan.formats.hdf5_reader import superblock_offset

    return superblock_offset(head) is not None


def _is_safetensors(head: bytes) -> bool:
    # An 8-byte little-endian header length (under the format's 100 MB cap), then a JSON object.
    size = int.from_bytes(head[:8], "little")
    return len(head) >= 9 and 2 <= size <= SAFETENSORS_MAX_HEADER and head[8:9] == b"{"


def _is_python(head: bytes, name: str) -> bool:
    # Text, or source declaring its own encoding (PEP 263), which Python imports just the same.
    if not name.lower().endswith(".py"):
        return False
    return _is_text(head) or _CODING.search(b"\n".join(head.splitlines()[:2])) is not None


def _is_template(head: bytes, name: str) -> bool:
    # Standalone chat templates (transformers saves `chat_template.jinja`) with Jinja delimiters.
    return name.lower().endswith(_TEMPLATE_SUFFIXES) and (b"{{" in head or b"{%" in head)


def _is_yaml(name: str) -> bool:
    # YAML has no magic number, so the name decides, after every binary format: whatever the
    # bytes (UTF-16, a legacy encoding, garbage), a `.yaml` is what yaml.load is handed.
    return name.lower().endswith(_YAML_SUFFIXES) or name.rpartition("/")[2] in _YAML_NAMES


def _is_zlib(head: bytes) -> bool:
    # RFC 1950 header (deflate, window <= 32K, header a multiple of 31), then a trial inflate.
    if not (len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7):
        return False
    if int.from_bytes(head[:2], "big") % 31 != 0:
        return False
    try:
        zlib.decompressobj().decompress(head, 64)
    except zlib.error:
        return False
    return True


def _is_text(head: bytes) -> bool:
    if not head:
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still text.
        return len(head) >= HEAD_BYTES and exc.start >= len(head) - 3
    return True
