"""ONNX models: external-data paths that leave the model folder, and custom-operator domains.

The ModelProto is walked with the wire decoder (graph, functions, training graphs, and the
subgraphs of If/Loop/Scan attributes, to a bounded depth); tensor payloads are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from airlock.findings import Finding, Severity
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext
from airlock.scan.formats.external_paths import escape_reason, link_reason
from airlock.scan.formats.protobuf_wire import (
    LEN,
    VARINT,
    Field,
    WireError,
    head_fields,
    iter_fields,
)
from airlock.scan.formats.protobuf_wire import text as field_text

STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "ai.onnx.preview"}
)
# ONNX Runtime's built-in contrib operators: common in ORT-optimized models, no extra library.
RUNTIME_DOMAINS = frozenset(
    {"com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental", "com.ms.internal.nhwc"}
)
MAX_GRAPH_DEPTH = 32
# ModelProto head fields that may come between ir_version (1) and graph (7) / opset_import (8).
_HEAD_FIELDS = {2: LEN, 3: LEN, 4: LEN, 5: VARINT, 6: LEN}


@dataclass
class _Walk:
    data: Buffer
    # location -> (offset of the first tensor naming it, tensor names)
    locations: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    # domain -> op_type -> (node count, offset of the first node)
    ops: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    local_functions: set[tuple[str, str]] = field(default_factory=set)
    too_deep: bool = False

    def model(self) -> None:
        for f in iter_fields(self.data):
            if f.wire_type != LEN:
                continue
            if f.number == 7:
                self.graph(f, 0)
            elif f.number == 25:
                self.function(f, 0)
            elif f.number == 20:  # TrainingInfoProto: initialization=1, algorithm=2
                for g in self._subs(f, (1, 2)):
                    self.graph(g, 0)

    def graph(self, f: Field, depth: int) -> None:
        if depth > MAX_GRAPH_DEPTH:
            self.too_deep = True  # skip this subgraph, keep walking its siblings
            return
        for g in iter_fields(self.data, f.start, f.end):
            if g.wire_type != LEN:
                continue
            if g.number == 1:
                self.node(g, depth)
            elif g.number == 5:
                self.tensor(g)
            elif g.number == 15:
                self.sparse_tensor(g)

    def function(self, f: Field, depth: int) -> None:
        name = domain = ""
        for g in iter_fields(self.data, f.start, f.end):
            if g.wire_type != LEN:
                continue
            if g.number == 1:
                name = field_text(self.data, g)
            elif g.number == 10:
                domain = field_text(self.data, g)
            elif g.number == 7:
                self.node(g, depth)
            elif g.number == 11:
                self.attribute(g, depth)
        self.local_functions.add((domain, name))

    def node(self, f: Field, depth: int) -> None:
        op_type = domain = ""
        for g in iter_fields(self.data, f.start, f.end):
            if g.wire_type != LEN:
                continue
            if g.number == 4:
                op_type = field_text(self.data, g, 256)
            elif g.number == 7:
                domain = field_text(self.data, g, 256)
            elif g.number == 5:
                self.attribute(g, depth)
        entry = self.ops.setdefault(domain, {}).setdefault(op_type, [0, f.start])
        entry[0] += 1

    def attribute(self, f: Field, depth: int) -> None:
        for g in iter_fields(self.data, f.start, f.end):
            if g.wire_type != LEN:
                continue
            if g.number in (6, 11):  # g, graphs: subgraphs of If / Loop / Scan
                self.graph(g, depth + 1)
            elif g.number in (5, 10):  # t, tensors
                self.tensor(g)
            elif g.number in (22, 23):  # sparse_tensor, sparse_tensors
                self.sparse_tensor(g)

    def sparse_tensor(self, f: Field) -> None:
        for g in self._subs(f, (1, 2)):  # values, indices
            self.tensor(g)

    def tensor(self, f: Field) -> None:
        # Loaders follow external_data only when data_location is EXTERNAL (field 14), but a
        # location is checked either way: no benign model names one that escapes.
        name, location = "", None
        for g in self._subs(f, (8, 13)):
            if g.number == 8:
                name = field_text(self.data, g, 256)
            else:
                key, value = self._entry(g)
                if key == "location":
                    location = value
        if location is not None:
            self.locations.setdefault(location, (f.start, []))[1].append(name)

    def _entry(self, f: Field) -> tuple[str, str]:
        key = value = ""
        for g in self._subs(f, (1, 2)):
            if g.number == 1:
                key = field_text(self.data, g, 256)
            else:
                value = field_text(self.data, g, 4096)
        return key, value

    def _subs(self, f: Field, numbers: tuple[int, ...]) -> Iterator[Field]:
        for g in iter_fields(self.data, f.start, f.end):
            if g.wire_type == LEN and g.number in numbers:
                yield g


class OnnxReader(Reader):
    kinds = (Kind.ONNX,)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        walk = _Walk(blob.data)
        try:
            walk.model()
        except WireError as exc:
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location.at(exc.offset),
                f"The ONNX model is not valid protobuf ({exc.reason}), so it could not be "
                "fully inspected.",
                str(exc),
            )
        if walk.too_deep:
            yield ctx.finding(
                "AIR003",
                blob,
                blob.location,
                f"ONNX subgraphs are nested more than {MAX_GRAPH_DEPTH} levels deep; the "
                "innermost ones were not inspected.",
            )
        on_disk = not blob.location.members and os.path.isfile(blob.file)
        for location, (offset, tensors) in walk.locations.items():
            verdict = escape_reason(location) or (
                link_reason(blob.file, location) if on_disk else None
            )
            if verdict is not None:
                rule_id, reason = verdict
                yield ctx.finding(
                    rule_id,
                    blob,
                    blob.location.at(offset),
                    f"External data for {len(tensors)} tensor(s) (first `{tensors[0]}`) is read "
                    f"from `{location}`: {reason}.",
                    location,
                )
        yield from _domain_findings(walk, blob, ctx)


def _domain_findings(walk: _Walk, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    for domain, ops in walk.ops.items():
        if domain in STANDARD_DOMAINS:
            continue
        custom = {
            op: entry for op, entry in ops.items() if (domain, op) not in walk.local_functions
        }
        if not custom:
            continue
        count = sum(entry[0] for entry in custom.values())
        offset = min(entry[1] for entry in custom.values())
        names = ", ".join(sorted(custom)[:8]) + (", ..." if len(custom) > 8 else "")
        builtin = domain in RUNTIME_DOMAINS
        needs = (
            "ONNX Runtime's built-in contrib operators"
            if builtin
            else "operators that only load with a custom operator library (native code)"
        )
        yield ctx.finding(
            "AIR613",
            blob,
            blob.location.at(offset),
            f"{count} node(s) use the `{domain}` operator domain ({names}): {needs}.",
            names,
            severity=Severity.INFO if builtin else None,
        )


def looks_like_onnx(head: Buffer, name: str) -> bool:
    """A ModelProto head: ir_version (field 1) first, then header fields, then graph/opsets.

    ONNX has no magic number, so the structure must match exactly; a header field that runs
    past the sampled head (a long doc_string) is accepted only for files named `.onnx`.
    """
    fields = head_fields(head, 8)
    if not fields or (fields[0].number, fields[0].wire_type) != (1, VARINT):
        return False
    if not 1 <= fields[0].value <= 255:
        return False
    for f in fields[1:]:
        if f.number in (7, 8) and f.wire_type == LEN:
            return f.start >= len(head) or head[f.start] in (0x0A, 0x10, 0x12)
        if _HEAD_FIELDS.get(f.number) != f.wire_type:
            return False
        if f.end > len(head):
            return name.lower().endswith(".onnx")
    return False
