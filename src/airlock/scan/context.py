"""What every format reader implements, and what the scanner hands it."""

from __future__ import annotations

import abc
import enum
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from airlock.findings import Finding, Location, Severity

Buffer = bytes | bytearray | memoryview | mmap.mmap


class Kind(enum.StrEnum):
    """What a file is, decided from its content (see `detect`)."""

    PICKLE = "pickle"
    NUMPY = "numpy"
    ZIP = "zip"
    COMPRESSED = "compressed"
    SEVEN_ZIP = "7z"
    TAR = "tar"
    JSON = "json"
    YAML = "yaml"
    ONNX = "onnx"
    TF_SAVEDMODEL = "tf-savedmodel"
    TF_GRAPHDEF = "tf-graphdef"
    HDF5 = "hdf5"
    SENTENCEPIECE = "sentencepiece"
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    TEMPLATE = "template"
    PYTHON = "python"
    RAW_TENSORS = "raw-tensors"
    TEXT = "text"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Blob:
    """Bytes to scan: a whole file, an archive member, or bytes decoded from inside another blob."""

    data: Buffer
    file: str
    location: Location
    name: str


class ScanContext(Protocol):
    """The scanner's services available to a reader."""

    def scan_nested(self, data: Buffer, location: Location, name: str) -> list[Finding]:
        """Detect what `data` is and scan it with the right reader (depth- and size-limited)."""
        ...

    def finding(
        self,
        rule_id: str,
        blob: Blob,
        location: Location,
        message: str,
        evidence: str = "",
        severity: Severity | None = None,
    ) -> Finding:
        """A finding attributed to the blob's file (severity defaults to the rule's)."""
        ...

    @property
    def max_decompressed_bytes(self) -> int:
        """How many bytes one decompression may produce before it is treated as a bomb."""
        ...


def too_large(
    ctx: ScanContext, blob: Blob, what: str, limit: int, consequence: str = ""
) -> Finding:
    """AIR003 for a file over a parser's size bound; `consequence`: what skipping it costs."""
    return ctx.finding(
        "AIR003",
        blob,
        blob.location,
        f"A {len(blob.data)}-byte {what} file is larger than Airlock parses ({limit} bytes); "
        f"it was not inspected{consequence}.",
    )


class Reader(abc.ABC):
    """Scans blobs of one or more kinds and yields findings; never raises on bad input."""

    kinds: tuple[Kind, ...]

    @abc.abstractmethod
    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        """Yield every finding in `blob`. Malformed input becomes a finding, not an exception."""
