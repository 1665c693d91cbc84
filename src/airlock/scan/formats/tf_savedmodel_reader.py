"""TensorFlow graphs (saved_model.pb, frozen GraphDef .pb): ops that run Python, touch files
or the network, looked up in data/tf_ops.toml.

SavedModel{meta_graphs=2} > MetaGraphDef{graph_def=2} > GraphDef{node=1, library=2} >
FunctionDefLibrary{function=1} > FunctionDef{node_def=3} > NodeDef{name=1, op=2, attr=5}.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from airlock.findings import Finding, Severity
from airlock.scan.context import Blob, Buffer, Kind, Reader, ScanContext
from airlock.scan.formats.protobuf_wire import (
    LEN,
    VARINT,
    Field,
    WireError,
    head_fields,
    iter_fields,
)
from airlock.scan.formats.protobuf_wire import text as field_text

_OP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_>]*")
_MAX_NAMES = 5


@dataclass(frozen=True)
class OpRule:
    category: str
    severity: Severity
    why: str
    attr: str | None = None
    attr_prefix: str = ""


@functools.cache
def op_rules() -> dict[str, OpRule]:
    text = resources.files("airlock.data").joinpath("tf_ops.toml").read_text("utf-8")
    table: dict[str, dict[str, Any]] = tomllib.loads(text)["ops"]
    return {
        op: OpRule(
            spec["category"],
            Severity.parse(spec["severity"]),
            spec["why"],
            spec.get("attr"),
            spec.get("attr_prefix", ""),
        )
        for op, spec in table.items()
    }


@dataclass
class _Hits:
    offset: int
    nodes: list[str] = field(default_factory=list)


@dataclass
class _Walk:
    data: Buffer
    rules: dict[str, OpRule]
    hits: dict[str, _Hits] = field(default_factory=dict)

    def saved_model(self) -> None:
        for meta in self._subs(0, len(self.data), 2):
            for graph in self._subs(meta.start, meta.end, 2):
                self.graph_def(graph.start, graph.end)

    def graph_def(self, start: int, end: int) -> None:
        for f in iter_fields(self.data, start, end):
            if f.wire_type != LEN:
                continue
            if f.number == 1:
                self.node(f)
            elif f.number == 2:
                for function in self._subs(f.start, f.end, 1):
                    for node in self._subs(function.start, function.end, 3):
                        self.node(node)

    def node(self, f: Field) -> None:
        name = op = ""
        attrs: dict[str, list[str]] = {}
        for g in self._subs(f.start, f.end, 1, 2, 5):
            if g.number == 1:
                name = field_text(self.data, g, 256)
            elif g.number == 2:
                op = field_text(self.data, g, 256)
            else:
                key, values = self._attr(g)
                attrs[key] = values
        rule = self.rules.get(op)
        if rule is None:
            return
        if rule.attr is not None and not any(
            value.startswith(rule.attr_prefix) for value in attrs.get(rule.attr, ())
        ):
            return
        self.hits.setdefault(op, _Hits(f.start)).nodes.append(name)

    def _attr(self, f: Field) -> tuple[str, list[str]]:
        """A map<string, AttrValue> entry: its key and its string values (s=2, list.s=2)."""
        key, values = "", []
        for g in self._subs(f.start, f.end, 1, 2):
            if g.number == 1:
                key = field_text(self.data, g, 256)
                continue
            for value in self._subs(g.start, g.end, 1, 2):
                if value.number == 2:
                    values.append(field_text(self.data, value, 4096))
                else:
                    values.extend(
                        field_text(self.data, s, 4096)
                        for s in self._subs(value.start, value.end, 2)
                    )
        return key, values

    def _subs(self, start: int, end: int, *numbers: int) -> Iterator[Field]:
        for f in iter_fields(self.data, start, end):
            if f.wire_type == LEN and f.number in numbers:
                yield f


class TensorFlowReader(Reader):
    kinds = (Kind.TF_SAVEDMODEL, Kind.TF_GRAPHDEF)

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        rules = op_rules()
        walk = _Walk(blob.data, rules)
        try:
            if _is_graph_def(blob.data):
                walk.graph_def(0, len(blob.data))
            else:
                walk.saved_model()
        except WireError as exc:
            yield ctx.finding(
                "AIR001",
                blob,
                blob.location.at(exc.offset),
                f"The TensorFlow graph is not valid protobuf ({exc.reason}), so it could not "
                "be fully inspected.",
                str(exc),
            )
        routine: list[str] = []
        for op, hits in walk.hits.items():
            rule = rules[op]
            if rule.severity is Severity.INFO:
                routine.append(f"{op} ({len(hits.nodes)})")
                continue
            names = ", ".join(hits.nodes[:_MAX_NAMES]) + (
                ", ..." if len(hits.nodes) > _MAX_NAMES else ""
            )
            yield ctx.finding(
                "AIR621",
                blob,
                blob.location.at(hits.offset),
                f"{len(hits.nodes)} graph node(s) run `{op}`, which {rule.why} "
                f"[{rule.category}]: {names}.",
                op,
                severity=rule.severity,
            )
        if routine:
            yield ctx.finding(
                "AIR621",
                blob,
                blob.location,
                "The graph uses routine checkpoint and asset ops: " + ", ".join(routine) + ".",
                ", ".join(routine),
                severity=Severity.INFO,
            )


def _is_graph_def(data: Buffer) -> bool:
    # A SavedModel opens with its schema version (varint 1) or a MetaGraphDef (field 2); a
    # GraphDef with its first NodeDef (field 1, length-delimited).
    fields = head_fields(data[:16], 1)
    return fields is not None and [(f.number, f.wire_type) for f in fields] == [(1, LEN)]


def looks_like_savedmodel(head: Buffer, name: str) -> bool:
    """schema version (optional only when named saved_model.pb), then a MetaGraphDef whose
    first field is meta_info_def (1) or graph_def (2)."""
    fields = head_fields(head, 2)
    if not fields:
        return False
    if (fields[0].number, fields[0].wire_type) == (1, VARINT) and fields[0].value <= 10:
        fields = fields[1:]
    elif _basename(name) != "saved_model.pb":
        return False
    if not fields or (fields[0].number, fields[0].wire_type) != (2, LEN):
        return False
    return fields[0].start < len(head) and head[fields[0].start] in (0x0A, 0x12)


def looks_like_graph_def(head: Buffer, name: str) -> bool:
    """A `.pb` file opening with a NodeDef: its name (field 1) then an op name (field 2)."""
    if not _basename(name).endswith(".pb"):
        return False
    fields = head_fields(head, 1)
    if not fields or (fields[0].number, fields[0].wire_type) != (1, LEN):
        return False
    node_head = bytes(head[fields[0].start : min(fields[0].end, len(head))])
    node = head_fields(node_head, 2)
    if node is None or [(f.number, f.wire_type) for f in node] != [(1, LEN), (2, LEN)]:
        return False
    op = node_head[node[1].start : node[1].end]
    return node[1].end <= len(node_head) and _OP_NAME.fullmatch(op.decode("latin-1")) is not None


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].lower()
