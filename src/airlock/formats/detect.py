"""Decide what a file is from its first bytes: magic numbers first, the name only as a hint."""

from __future__ import annotations

import re
import zlib

from airlock.findings import Severity
from airlock.formats.interface import Buffer, Kind
from airlock.formats.pickle.opcodes import looks_like_pickle
from airlock.formats.tar_headers import looks_like_tar

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
SAFETENSORS_MAX_HEADER = 100_000_000
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)
_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2", ".template")
_YAML_SUFFIXES = (".yaml", ".yml")
_YAML_NAMES = ("MLmodel",)  # MLflow's model descriptor: YAML without an extension

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
    head = bytes(head[:HEAD_BYTES])
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
        from airlock.formats.onnx_reader import looks_like_onnx
        from airlock.formats.tf_savedmodel_reader import looks_like_graph_def, looks_like_savedmodel

        if looks_like_savedmodel(head, name):
            return Kind.TF_SAVEDMODEL
        if looks_like_graph_def(head, name):
            return Kind.TF_GRAPHDEF
        if looks_like_onnx(head, name):
            return Kind.ONNX
        from airlock.formats.sentencepiece_reader import looks_like_sentencepiece

        if looks_like_sentencepiece(head):
            return Kind.SENTENCEPIECE
    if _is_zlib(head):
        return Kind.COMPRESSED
    if _is_python(head, name):
        return Kind.PYTHON
    if _is_yaml(name):
        return Kind.YAML
    if _is_text(head):
        if _is_template(head, name):
            return Kind.TEMPLATE
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
            return Kind.JSON
        return Kind.TEXT
    return Kind.UNKNOWN


# Field 1 varint (ONNX ir_version, SavedModel schema version), field 1 or 2 length-delimited
# (GraphDef node, SavedModel meta graph).
_PROTOBUF_FIRST_TAGS = (b"\x08", b"\x0a", b"\x12")


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
    from airlock.formats.hdf5_reader import superblock_offset

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
