"""Safetensors: an 8-byte header length, a JSON header, then raw tensor bytes.

Loading never executes anything, so only the header is read: a file the official loader would
reject was made or altered by other tools, and bytes no tensor covers can carry hidden data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from airlock.findings import Finding
from airlock.headers.safetensors import DTYPE_BITS, MAX_HEADER, is_count
from airlock.scan.context import Blob, Kind, Reader, ScanContext

# Metadata strings cannot run; these only say which look like something other than a label.
_SUSPICIOUS = (
    ("a URL", re.compile(r"\b(?:https?|ftp|file)://", re.IGNORECASE)),
    (
        "code",
        re.compile(
            r"(?:^|[;\n]\s*)(?:import\s+\w|from\s+[\w.]+\s+import\b)|__import__"
            r"|\b(?:exec|eval|compile)\s*\(|subprocess|os\.system"
            r"|\bpopen\b|b64decode|<script\b",
            re.IGNORECASE,
        ),
    ),
    (
        "a shell command",
        re.compile(r"\brm\s+-\w*[rf]|\b(?:wget|curl)\s|\bchmod\s|\b(?:ba)?sh\s+-c\b|&&|\|\s*sh\b"),
    ),
    ("escaped bytes", re.compile(r"(?:\\x[0-9a-fA-F]{2}){4,}")),
)
_EXAMPLES = 3
_EVIDENCE_CHARS = 300


class SafetensorsReader(Reader):
    kinds = (Kind.SAFETENSORS,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        data = blob.data
        size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
        if not 2 <= size <= min(len(data) - 8, MAX_HEADER):
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location.at(0),
                f"The safetensors header length ({size} bytes) is impossible for a "
                f"{len(data)}-byte file (the format caps it at {MAX_HEADER}); "
                "the file could not be inspected.",
                bytes(data[:8]).hex(" "),
            )
            return
        duplicates: list[str] = []
        try:
            header = json.loads(
                bytes(data[8 : 8 + size]).decode("utf-8"),
                object_pairs_hook=lambda pairs: _no_duplicates(pairs, duplicates),
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            header, error = None, str(exc)
        else:
            error = "the header is not a JSON object"
        if not isinstance(header, dict):
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location.at(8),
                "The safetensors header is not a UTF-8 JSON object, so the file could not be "
                "inspected.",
                error[:_EVIDENCE_CHARS],
            )
            return
        if duplicates:
            yield ctx.finding(
                "AIR401",
                blob,
                blob.location.at(8),
                f"The header repeats {len(duplicates)} key(s); parsers disagree about which "
                "value wins, so different tools see different tensors or metadata.",
                ", ".join(duplicates[:_EXAMPLES]),
            )
        yield from _metadata(header.pop("__metadata__", {}), blob, ctx)
        yield from _tensors(header, len(data) - 8 - size, 8 + size, blob, ctx)


def _no_duplicates(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    return result


def _metadata(metadata: object, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    location = blob.location.at(8)
    if not isinstance(metadata, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        yield ctx.finding(
            "AIR401",
            blob,
            location,
            "`__metadata__` must map strings to strings; loaders reject this file.",
            json.dumps(metadata)[:_EVIDENCE_CHARS],
        )
        return
    if not metadata or _is_routine(metadata):
        return
    yield ctx.finding(
        "AIR402",
        blob,
        location,
        f"The header carries {len(metadata)} metadata string(s); loading never executes them.",
        json.dumps(metadata)[:_EVIDENCE_CHARS],
    )
    for key, value in metadata.items():
        kinds = [name for name, pattern in _SUSPICIOUS if pattern.search(value)]
        if kinds:
            yield ctx.finding(
                "AIR403",
                blob,
                location,
                f"Metadata `{key}` looks like {' and '.join(kinds)}. Safetensors cannot "
                "execute it; it matters only to a tool that pastes metadata into a shell, "
                "code or a web page.",
                value[:_EVIDENCE_CHARS],
            )


def _tensors(
    header: dict[str, Any], data_len: int, data_start: int, blob: Blob, ctx: ScanContext
) -> Iterator[Finding]:
    problems: dict[str, list[str]] = {}
    spans: list[tuple[int, int]] = []
    for name, info in header.items():
        problem = _tensor_problem(info, data_len)
        if problem is None:
            spans.append((info["data_offsets"][0], info["data_offsets"][1]))
        else:
            problems.setdefault(problem, []).append(name)
    if not problems:  # coverage is only meaningful when every entry could be placed
        problems = {problem: [] for problem in _coverage(spans, data_len)}
    location = blob.location.at(data_start)
    for problem, names in problems.items():
        examples = f" ({', '.join(names[:_EXAMPLES])}{', ...' if len(names) > _EXAMPLES else ''})"
        yield ctx.finding(
            "AIR401",
            blob,
            location,
            f"Safetensors layout: {problem}{examples if names else ''}. The official loader "
            "rejects this; bytes no tensor covers can hide data.",
        )


def _tensor_problem(info: object, data_len: int) -> str | None:
    """Why one header entry breaks the format, or None when it is a valid tensor entry."""
    if not isinstance(info, dict):
        return "an entry is not a tensor description"
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BITS:
        return f"unknown dtype {str(dtype)[:40]!r}"
    if not isinstance(shape, list) or not all(is_count(dim) for dim in shape):
        return "a shape is not a list of non-negative integers"
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(is_count(offset) for offset in offsets)
        and offsets[0] <= offsets[1]
    ):
        return "data_offsets is not an ordered [begin, end] pair"
    if offsets[1] > data_len:
        return "data_offsets point past the end of the file"
    # Stop multiplying once past the file size: shapes like [10**300, 10**300] stay cheap.
    limit = data_len * 8
    bits = DTYPE_BITS[str(dtype)] if 0 not in shape else 0
    for dim in shape:
        bits *= dim
        if bits > limit:
            return "a tensor's shape needs more bytes than the file has"
    if bits % 8:
        return "a tensor does not fill whole bytes"
    if bits // 8 != offsets[1] - offsets[0]:
        return "a tensor's byte length disagrees with its dtype and shape"
    return None


def _coverage(spans: list[tuple[int, int]], data_len: int) -> Iterator[str]:
    """Gaps, overlaps and trailing bytes: the data section must be tiled exactly by tensors."""
    cursor, gaps, overlaps = 0, 0, 0
    for begin, end in sorted(spans):
        if begin > cursor:
            gaps += 1
        elif begin < cursor and end > begin:
            overlaps += 1
        cursor = max(cursor, end)
    if gaps:
        yield f"{gaps} stretch(es) of the data section between tensors belong to no tensor"
    if overlaps:
        yield f"{overlaps} tensor(s) overlap an earlier one"
    if cursor < data_len:
        yield f"{data_len - cursor} bytes after the last tensor belong to no tensor"


# What save_pretrained / safetensors writers put there by themselves: not worth a line.
_ROUTINE_FORMATS = frozenset({"pt", "tf", "flax", "np", "mlx", "paddle"})


def _is_routine(metadata: dict[str, str]) -> bool:
    return set(metadata) == {"format"} and metadata["format"] in _ROUTINE_FORMATS
