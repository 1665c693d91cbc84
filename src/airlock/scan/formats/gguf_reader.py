"""GGUF (llama.cpp): header, metadata key-values and tensor index, every length checked against
the file before it is trusted. Tensor data is never read; chat templates are, because
llama-cpp-python and others render them (CVE-2024-34359)."""

from __future__ import annotations

from collections.abc import Iterator

from airlock.findings import Finding
from airlock.headers.gguf import (
    GGML_BLOCKS,
    STRING,
    UINT32,
    Cursor,
    Stop,
    read_preamble,
    read_tensor_info,
    skip_value,
)
from airlock.scan.analyzers.chat_template import MAX_TEMPLATE_BYTES, oversized, template_findings
from airlock.scan.context import Blob, Kind, Reader, ScanContext

DEFAULT_ALIGNMENT = 32
TEMPLATE_KEY = "tokenizer.chat_template"
MAX_REPORTED = 10


class GgufReader(Reader):
    kinds = (Kind.GGUF,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        cursor = Cursor(blob.data, "<", v1=False, pos=4)
        try:
            tensors, pairs = read_preamble(cursor)
            alignment = DEFAULT_ALIGNMENT
            for _ in range(pairs):
                found, value = _key_value(cursor, blob, ctx)
                yield from found
                if value is not None:
                    alignment = value
            if alignment <= 0 or alignment & (alignment - 1):
                yield _layout(blob, ctx, 0, f"general.alignment {alignment} is not a power of 2")
                return
            problems = _tensor_index(cursor, tensors, alignment)
            for offset, problem in problems[:MAX_REPORTED]:
                yield _layout(blob, ctx, offset, problem)
            if len(problems) > MAX_REPORTED:
                more = f"{len(problems) - MAX_REPORTED} more tensor problems were not listed"
                yield _layout(blob, ctx, problems[MAX_REPORTED][0], more)
        except Stop as stop:
            yield ctx.finding(
                stop.rule,
                blob,
                blob.location.at(stop.offset),
                f"The GGUF file could not be parsed past byte {stop.offset}: {stop.message}; "
                "the rest (metadata, chat templates, tensor index) was not inspected.",
            )


def _key_value(cursor: Cursor, blob: Blob, ctx: ScanContext) -> tuple[list[Finding], int | None]:
    """Read one key-value; returns its findings and the alignment when this key sets it."""
    start = cursor.pos
    key = cursor.string()
    kind = cursor.unpack("I")
    findings = []
    if key in cursor.keys:
        findings.append(_layout(blob, ctx, start, f"key `{key[:80]}` appears twice"))
    cursor.keys.add(key)
    if (key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")) and kind == STRING:
        length = cursor.count("a string length of", 1, len(cursor.data))
        start = cursor.skip(length)
        location, label = blob.location.at(start), f"GGUF `{key[:80]}`"
        if length > MAX_TEMPLATE_BYTES:
            findings.append(oversized(length, label, blob, location, ctx))
        else:
            text = bytes(cursor.data[start : cursor.pos]).decode("utf-8", "replace")
            findings.extend(template_findings(text, label, blob, location, ctx))
        return findings, None
    if key == "general.alignment" and kind == UINT32:
        return findings, cursor.unpack("I")
    skip_value(cursor, kind, 0)
    return findings, None


def _tensor_index(cursor: Cursor, count: int, alignment: int) -> list[tuple[int, str]]:
    """(offset, problem) for each tensor whose type, placement or alignment is wrong."""
    problems: list[tuple[int, str]] = []
    spans: list[tuple[int, int, str]] = []
    for _ in range(count):
        start = cursor.pos
        name, shape, ggml_type, offset = read_tensor_info(cursor)
        name = name[:80]
        elements = 1
        for dim in shape:
            elements *= dim
        if ggml_type not in GGML_BLOCKS:
            problems.append((start, f"tensor `{name}` has unknown type {ggml_type}"))
            continue
        block, block_bytes = GGML_BLOCKS[ggml_type]
        if shape and shape[0] % block:
            problems.append((start, f"tensor `{name}` rows do not fill whole blocks"))
            continue
        spans.append((offset, offset + elements // block * block_bytes, name))
    data_start = -(-cursor.pos // alignment) * alignment
    end = data_start
    for offset, stop, name in sorted(spans):
        if offset % alignment:
            problems.append((data_start + offset, f"tensor `{name}` is not {alignment}-aligned"))
        if data_start + stop > len(cursor.data):
            problems.append((data_start + offset, f"tensor `{name}` ends past the end of the file"))
        elif data_start + offset < end and stop > offset:
            problems.append((data_start + offset, f"tensor `{name}` overlaps another tensor"))
        end = max(end, data_start + stop)
    return problems


def _layout(blob: Blob, ctx: ScanContext, offset: int, problem: str) -> Finding:
    return ctx.finding(
        "AIR411",
        blob,
        blob.location.at(offset),
        f"GGUF layout: {problem}. Loaders reject or misread such a file.",
    )
