"""Raw tensor side files (Kokoro's `voices.bin` for sherpa-onnx): bytes a loader copies into
arrays of a fixed shape, known by name from `data/raw_tensors.toml`. Recognised only once no
other format matched; the reader checks that the length is a whole number of records."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from airlock.data import load_compiled
from airlock.findings import Finding
from airlock.scan.context import Blob, Kind, Reader, ScanContext


@dataclass(frozen=True)
class RawLayout:
    name: str
    dtype: str
    record_bytes: tuple[int, ...]  # one per listed record shape
    shapes: tuple[tuple[int, ...], ...]
    loader: str


@cache
def layouts() -> dict[str, RawLayout]:
    # The JSON copy (tools/compile_data.py): detection asks on every file, and a scan should
    # not import and run a TOML parser for it.
    found = {}
    for row in load_compiled("raw_tensors.toml")["file"]:
        shapes = tuple(tuple(int(n) for n in shape) for shape in row["records"])
        sizes = tuple(math.prod(shape) * int(row["bytes"]) for shape in shapes)
        found[str(row["name"])] = RawLayout(
            str(row["name"]), str(row["dtype"]), sizes, shapes, str(row["loader"])
        )
    return found


def is_raw_tensors(name: str) -> bool:
    """Whether the file's name is one `data/raw_tensors.toml` lists."""
    return name.rpartition("/")[2] in layouts()


class RawTensorsReader(Reader):
    kinds = (Kind.RAW_TENSORS,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        layout = layouts().get(blob.name.rpartition("/")[2])
        if layout is None:  # only detection's names reach here; anything else is not judged clean
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location,
                "read as raw tensor records, but its name is none data/raw_tensors.toml lists: "
                "no layout to check it against.",
                bytes(blob.data[:16]).hex(" "),
            )
            return
        size = len(blob.data)
        if size and any(size % record == 0 for record in layout.record_bytes):
            return
        shapes = " or ".join(str(shape) for shape in layout.shapes)
        yield ctx.finding(
            "AIR001",
            blob,
            blob.location,
            f"`{layout.name}` is read as raw {layout.dtype} records of {shapes} "
            f"({layout.loader}), but its {size:,} bytes are not a whole number of them: it is "
            "not the file its name says, and no format Airlock knows matched it.",
            bytes(blob.data[:16]).hex(" "),
        )
