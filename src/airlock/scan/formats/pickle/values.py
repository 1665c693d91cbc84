"""Symbolic values the pickle interpreter pushes instead of real objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Global:
    """An object the loader would import: `module.name` (name may be dotted)."""

    module: str
    name: str
    offset: int

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False, slots=True)
class Call:
    """The result of calling `func` at load time (REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX)."""

    func: Any
    args: Any
    kwargs: Any
    opcode: str
    offset: int
    state: Any = None
    # Set by the analysis when the result is an object from outside the allowlist (an
    # instance of, or a wrapper around, an unknown class or function): what it comes from.
    taint: str | None = None


@dataclass(eq=False, slots=True)
class SymList:
    items: list[Any] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class SymDict:
    pairs: list[tuple[Any, Any]] = field(default_factory=list)

    def get(self, key: str) -> Any:
        for k, v in reversed(self.pairs):
            if k == key:
                return v
        return None


@dataclass(eq=False, slots=True)
class SymSet:
    items: list[Any] = field(default_factory=list)
    frozen: bool = False


@dataclass(frozen=True, slots=True)
class Persistent:
    """A persistent id the loader resolves itself (PyTorch storages)."""

    pid: Any


@dataclass(frozen=True, slots=True)
class Extension:
    """An extension-registry code (EXT1/2/4): resolves to a global we cannot see."""

    code: int


@dataclass(frozen=True, slots=True)
class OutOfBandBuffer:
    """An out-of-band buffer (protocol 5 NEXT_BUFFER)."""


def render(value: Any, limit: int = 240) -> str:
    """A short Python-like rendering for evidence; bounded in size and depth."""
    out: list[str] = []
    _render(value, out, 0, [0], limit)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: Any, out: list[str], depth: int, used: list[int], limit: int) -> None:
    if used[0] > limit:
        return
    if depth > 6:
        out.append("…")
        return
    piece: str | None = None
    if isinstance(value, Global):
        piece = value.dotted
    elif isinstance(value, Call):
        _render(value.func, out, depth + 1, used, limit)
        out.append("(")
        args = value.args if isinstance(value.args, tuple) else (value.args,)
        for i, arg in enumerate(args):
            if i:
                out.append(", ")
            _render(arg, out, depth + 1, used, limit)
        if isinstance(value.kwargs, SymDict):
            for i, (key, item) in enumerate(value.kwargs.pairs[:8]):
                if i or args:
                    out.append(", ")
                out.append(f"{key}=" if isinstance(key, str) else "?=")
                _render(item, out, depth + 1, used, limit)
        out.append(")")
    elif isinstance(value, tuple):
        _render_seq(value, "(", ")", out, depth, used, limit)
    elif isinstance(value, SymList):
        _render_seq(value.items, "[", "]", out, depth, used, limit)
    elif isinstance(value, SymSet):
        _render_seq(value.items, "{", "}", out, depth, used, limit)
    elif isinstance(value, SymDict):
        out.append("{")
        for i, (k, v) in enumerate(value.pairs[:8]):
            if i:
                out.append(", ")
            _render(k, out, depth + 1, used, limit)
            out.append(": ")
            _render(v, out, depth + 1, used, limit)
        out.append(", …}" if len(value.pairs) > 8 else "}")
    elif isinstance(value, Persistent):
        piece = "persistent_id(" + render(value.pid, 80) + ")"
    elif isinstance(value, Extension):
        piece = f"extension_code({value.code})"
    elif isinstance(value, bytes | bytearray):
        piece = repr(bytes(value[:64])) + ("…" if len(value) > 64 else "")
    elif isinstance(value, str):
        piece = repr(value[:120]) + ("…" if len(value) > 120 else "")
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        piece = f"<{value.bit_length()}-bit integer>"  # repr() refuses past 4300 digits
    elif value is None or isinstance(value, int | float | bool | complex):
        piece = repr(value)
    else:
        piece = "?"
    if piece is not None:
        out.append(piece)
        used[0] += len(piece)


def _render_seq(
    items: Any, opening: str, closing: str, out: list[str], depth: int, used: list[int], limit: int
) -> None:
    out.append(opening)
    seq = list(items[:8])
    for i, item in enumerate(seq):
        if i:
            out.append(", ")
        _render(item, out, depth + 1, used, limit)
    if len(items) > 8:
        out.append(", …")
    elif opening == "(" and len(seq) == 1:
        out.append(",")
    out.append(closing)
