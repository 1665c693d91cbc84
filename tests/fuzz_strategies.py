"""Inputs for the fuzz tests: valid seed files, structure-aware mutations, opcode-level pickles.

Everything here builds bytes; nothing is ever unpickled or loaded. Seeds come from the real
writers (`pickle.dumps`, `torch.save`, `joblib.dump`, `numpy.save`) where they are installed
and from hand-built equivalents always, so the corpus never silently shrinks to nothing.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import lzma
import pickle
import pickletools
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import strategies as st

from airlock.scan.formats.pickle.opcodes import PickleDecodeError, decode_op

# Values written over length/count/offset fields: the edges of every integer width.
HUGE_VALUES = (
    0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
    2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 1,
)  # fmt: skip

# Which optional seed writers were unavailable (reported by a test, never silently dropped).
MISSING_WRITERS: list[str] = []


@dataclass(frozen=True)
class Seed:
    """A valid file of some format, and where its length/count/offset fields are."""

    name: str
    data: bytes
    # (offset, width in bytes) of little-endian integer fields worth overwriting.
    fields: tuple[tuple[int, int], ...] = field(default=())


# Pickle assembly -------------------------------------------------------------------------


def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def binunicode(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def binbytes(raw: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(raw)) + raw


def call(module: str, name: str, *args: bytes) -> bytes:
    """GLOBAL module.name, MARK, args, TUPLE, REDUCE: `module.name(*args)` at load time."""
    return global_op(module, name) + b"(" + b"".join(args) + b"tR"


def pickle2(body: bytes) -> bytes:
    """PROTO 2, `body` (which must leave one value on the stack), STOP."""
    return b"\x80\x02" + body + b"."


def system_payload(command: str = "echo airlock-fuzz") -> bytes:
    """The body of `os.system(command)`: a dangerous call the scanner must always report."""
    return call("os", "system", binunicode(command))


def system_pickle(command: str = "echo airlock-fuzz") -> bytes:
    return pickle2(system_payload(command))


def loads_payload(inner: bytes) -> bytes:
    """The body of `pickle.loads(base64.b64decode("<inner>"))`."""
    encoded = base64.b64encode(inner).decode("ascii")
    return call("pickle", "loads", call("base64", "b64decode", binunicode(encoded)))


def nested_loads_pickle(levels: int) -> bytes:
    """`os.system` wrapped in `levels` layers of pickle.loads(base64.b64decode(...))."""
    data = system_pickle()
    for _ in range(levels):
        data = pickle2(loads_payload(data))
    return data


# Length fields -----------------------------------------------------------------------------

# Opcodes whose argument starts with a little-endian length, count or index, and its width.
_PICKLE_FIELDS = {
    "SHORT_BINBYTES": 1, "SHORT_BINSTRING": 1, "SHORT_BINUNICODE": 1, "LONG1": 1,
    "BINBYTES": 4, "BINSTRING": 4, "BINUNICODE": 4, "LONG4": 4, "LONG_BINPUT": 4,
    "LONG_BINGET": 4, "EXT4": 4, "BINBYTES8": 8, "BINUNICODE8": 8, "BYTEARRAY8": 8,
    "FRAME": 8, "BINPUT": 1, "BINGET": 1, "PROTO": 1,
}  # fmt: skip

# (signature, [(field offset, width)]) for zip records: sizes, counts, lengths, offsets.
_ZIP_FIELDS: tuple[tuple[bytes, tuple[tuple[int, int], ...]], ...] = (
    (b"PK\x03\x04", ((18, 4), (22, 4), (26, 2), (28, 2))),
    (b"PK\x01\x02", ((20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2), (42, 4))),
    (b"PK\x05\x06", ((4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2))),
    (b"PK\x06\x06", ((4, 8), (24, 8), (32, 8), (40, 8), (48, 8))),
    (b"PK\x06\x07", ((4, 4), (8, 8), (16, 4))),
)


def pickle_fields(data: bytes, start: int = 0) -> list[tuple[int, int]]:
    """Length fields of the pickle streams from `start` on, found with the bounded decoder."""
    found: list[tuple[int, int]] = []
    pos = start
    for _ in range(100_000):
        try:
            op = decode_op(data, pos)
        except PickleDecodeError:
            break
        width = _PICKLE_FIELDS.get(op.name)
        if width is not None:
            found.append((op.offset + 1, width))
        pos = op.end
        if op.name == "STOP" and data[pos : pos + 1] != b"\x80":
            break
    return found


def zip_fields(data: bytes) -> list[tuple[int, int]]:
    """Fields of every zip record in `data`, and of stored pickle members."""
    found: list[tuple[int, int]] = []
    for signature, offsets in _ZIP_FIELDS:
        pos = data.find(signature)
        while pos >= 0:
            found.extend(
                (pos + at, width) for at, width in offsets if pos + at + width <= len(data)
            )
            if signature == b"PK\x03\x04" and pos + 30 <= len(data):
                (method,) = struct.unpack_from("<H", data, pos + 8)
                name_len, extra_len = struct.unpack_from("<HH", data, pos + 26)
                body = pos + 30 + name_len + extra_len
                if method == 0 and data[body : body + 1] == b"\x80":
                    found.extend(pickle_fields(data, body))
            pos = data.find(signature, pos + 4)
    return found


def npy_fields(data: bytes) -> list[tuple[int, int]]:
    """The header length of a .npy file, and the fields of an object array's pickle."""
    if not data.startswith(b"\x93NUMPY") or len(data) < 12:
        return []
    width = 2 if data[6] == 1 else 4
    body = 8 + width + int.from_bytes(data[8 : 8 + width], "little")
    found = [(8, width)]
    if data[body : body + 1] == b"\x80":  # an object array's pickle
        found += pickle_fields(data, body)
    return found


def generic_fields(data: bytes) -> list[tuple[int, int]]:
    """Every field this module knows how to find, whatever the format."""
    found = npy_fields(data) + zip_fields(data)
    if data[:1] == b"\x80" or data[:1] in (b"(", b"c", b"}", b"]"):
        found += pickle_fields(data)
    if data.startswith(b"\x1f\x8b") and len(data) >= 8:
        found.append((len(data) - 4, 4))  # ISIZE
    if data.startswith(b"7z\xbc\xaf\x27\x1c") and len(data) >= 32:
        found += [(12, 8), (20, 8)]  # next header offset and size
    return sorted(set(found))


# Every YAML construct the reader follows: directives, anchors and aliases, flow and block
# collections, python tags, a chat template, an instantiate target.
YAML_SEED = b"""%YAML 1.1
%TAG !py! tag:yaml.org,2002:python/
---
defaults: &base {lr: 0.1, betas: [0.9, 0.99]}
optimizer:
  _target_: torch.optim.Adam
  <<: *base
run: !py!object/apply:os.system ["echo airlock-fuzz"]
? !!python/name:builtins.eval
: key
chat_template: "{% for m in messages %}{{ m['content'] }}{% endfor %}"
...
---
- !<tag:yaml.org,2002:python/module:subprocess> ''
- |
  block {{ text }}
"""


def _seed(name: str, data: bytes) -> Seed:
    return Seed(name, data, tuple(generic_fields(data)))


# Hand-built containers -------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)
    return out.getvalue()


def torch_like_zip(data_pkl: bytes) -> bytes:
    """The member layout `torch.save` writes, built with zipfile (no torch needed)."""
    return zip_bytes(
        {
            "archive/data.pkl": data_pkl,
            "archive/byteorder": b"little",
            "archive/data/0": struct.pack("<4f", 0.0, 1.0, 2.0, 3.0),
            "archive/version": b"3\n",
        }
    )


def npy_bytes(descr: str, shape: tuple[int, ...], body: bytes, version: int = 1) -> bytes:
    """A .npy file: magic, version, header length, header dict padded to 64 bytes, body."""
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    prefix = 10 if version == 1 else 12
    header += " " * (-(prefix + len(header) + 1) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode("latin-1") + body


def _7z_number(value: int) -> bytes:
    for extra in range(9):
        bits = 64 if extra == 8 else 8 * extra + (7 - extra)
        if value < (1 << bits):
            high = value >> (8 * extra) if extra < 8 else 0
            first = ((0xFF << (8 - extra)) & 0xFF) | high
            return bytes([first]) + (value & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
    raise ValueError("number too large")


def seven_zip_bytes(name: str, payload: bytes) -> bytes:
    """A 7z archive with one file stored by the Copy coder and a plain header."""
    n = _7z_number
    names = name.encode("utf-16-le") + b"\x00\x00"
    header = (
        b"\x01\x04"
        + b"\x06" + n(0) + n(1) + b"\x09" + n(len(payload)) + b"\x00"
        + b"\x07\x0b" + n(1) + b"\x00" + n(1) + b"\x01\x00"
        + b"\x0c" + n(len(payload)) + b"\x00"
        + b"\x08\x0a\x01" + struct.pack("<I", zlib.crc32(payload)) + b"\x00"
        + b"\x00"
        + b"\x05" + n(1) + b"\x11" + n(len(names) + 1) + b"\x00" + names + b"\x00"
        + b"\x00"
    )  # fmt: skip
    start = struct.pack("<QQI", len(payload), len(header), zlib.crc32(header))
    signature = b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start))
    return signature + start + payload + header


LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C


def legacy_torch_like(state: bytes) -> bytes:
    """torch.save's legacy layout: five pickles (magic, protocol, sys info, object, keys)."""
    parts = [
        pickle.dumps(LEGACY_TORCH_MAGIC, protocol=2),
        pickle.dumps(1001, protocol=2),
        pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
        state,
        pickle.dumps(["0"], protocol=2),
    ]
    storage = struct.pack("<q", 4) + struct.pack("<4f", 0.0, 1.0, 2.0, 3.0)
    return b"".join(parts) + storage


# The corpus ------------------------------------------------------------------------------


def _benign_object() -> dict[str, Any]:
    return {
        "name": "layer.weight",
        "shape": (3, 4),
        "weights": [0.5, -1.25, 3.0, float("inf")],
        "ids": list(range(12)),
        "raw": bytes(range(40)),
        "big": 2**70,
        "flags": {"train": False, "eval": True, "none": None},
        "nested": OrderedDict([("a", ("x", 1.5)), ("b", frozenset({1, 2}))]),
        "text": "ünïcode ☃",
    }


def _optional_seeds() -> list[Seed]:
    seeds: list[Seed] = []
    try:
        import torch
    except ImportError:
        MISSING_WRITERS.append("torch")
    else:
        state = {"w": torch.arange(4, dtype=torch.float32), "b": torch.zeros(2)}
        for name, kwargs in (
            ("model.pt", {}),
            ("legacy.pt", {"_use_new_zipfile_serialization": False}),
        ):
            buffer = io.BytesIO()
            torch.save(state, buffer, **kwargs)
            seeds.append(_seed(name, buffer.getvalue()))
    try:
        import numpy as np
    except ImportError:
        MISSING_WRITERS.append("numpy")
    else:
        for name, array in (
            ("floats.npy", np.arange(6, dtype="<f4").reshape(2, 3)),
            ("objects.npy", np.array([1, "two", None], dtype=object)),
        ):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=True)
            seeds.append(_seed(name, buffer.getvalue()))
        buffer = io.BytesIO()
        np.savez(buffer, a=np.arange(3), b=np.array([None], dtype=object))
        seeds.append(_seed("arrays.npz", buffer.getvalue()))
        try:
            import joblib
        except ImportError:
            MISSING_WRITERS.append("joblib")
        else:
            buffer = io.BytesIO()
            joblib.dump({"a": np.arange(5), "o": np.array(["x", None], dtype=object)}, buffer)
            seeds.append(_seed("model.joblib", buffer.getvalue()))
    return seeds


@cache
def seed_corpus() -> tuple[Seed, ...]:
    """Valid files of every format Airlock reads (deterministic bytes)."""
    benign = _benign_object()
    seeds = [_seed(f"proto{p}.pkl", pickle.dumps(benign, protocol=p)) for p in range(6)]
    state = pickle.dumps(OrderedDict(w=[1.0, 2.0]), protocol=2)
    malicious = system_pickle()
    seeds += [
        _seed("payload.pkl", malicious),
        _seed("nested.pkl", nested_loads_pickle(2)),
        _seed("streams.pkl", pickle.dumps(1, protocol=2) + malicious),
        _seed("torchlike.pt", torch_like_zip(state)),
        _seed("torchlike-payload.pt", torch_like_zip(malicious)),
        _seed("deflated.zip", zip_bytes({"a/data.pkl": malicious}, zipfile.ZIP_DEFLATED)),
        _seed("legacylike.pt", legacy_torch_like(state)),
        _seed("handmade.npy", npy_bytes("<f8", (2,), struct.pack("<2d", 1.0, 2.0))),
        _seed("handmade-v2.npy", npy_bytes("|O", (1,), malicious, version=2)),
        _seed("model.pkl.gz", gzip.compress(malicious, mtime=0)),
        _seed("model.pkl.bz2", bz2.compress(malicious)),
        _seed("model.pkl.xz", lzma.compress(malicious)),
        _seed("model.pkl.z", zlib.compress(malicious)),
        _seed("model.7z", seven_zip_bytes("data.pkl", malicious)),
        _seed("config.yaml", YAML_SEED),
    ]
    seeds += _optional_seeds()
    return tuple(seeds)


# Mutations -------------------------------------------------------------------------------

Draw = Callable[[st.SearchStrategy[Any]], Any]
Mutation = Callable[[Draw, bytearray, Seed], bytearray]


def _flip(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    if data:
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] ^= 1 << draw(st.integers(0, 7))
    return data


def _set_byte(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    if data:
        data[draw(st.integers(0, len(data) - 1))] = draw(st.sampled_from((0, 0xFF, 0x80, 0x2E)))
    return data


def _insert(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    pos = draw(st.integers(0, len(data)))
    data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    return data


def _delete(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    if data:
        pos = draw(st.integers(0, len(data) - 1))
        del data[pos : pos + draw(st.integers(1, 32))]
    return data


def _truncate(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    return data[: draw(st.integers(0, len(data)))]


def _duplicate(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    if data:
        start = draw(st.integers(0, len(data) - 1))
        chunk = data[start : start + draw(st.integers(1, 64))]
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = chunk * draw(st.integers(1, 4))
    return data


def _splice(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    other = draw(st.sampled_from(seed_corpus())).data
    cut = draw(st.integers(0, len(data)))
    start = draw(st.integers(0, len(other)))
    return data[:cut] + other[start:]


def _write_int(data: bytearray, pos: int, width: int, value: int) -> bytearray:
    pos = min(pos, max(0, len(data) - width))
    data[pos : pos + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    return data


def _huge_field(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    """Overwrite a real length/count/offset field of the seed with an edge value."""
    if not seed.fields or not data:
        return _huge_anywhere(draw, data, seed)
    pos, width = draw(st.sampled_from(seed.fields))
    return _write_int(data, pos, width, draw(st.sampled_from(HUGE_VALUES)))


def _huge_anywhere(draw: Draw, data: bytearray, seed: Seed) -> bytearray:
    if not data:
        return data
    pos = draw(st.integers(0, len(data) - 1))
    width = draw(st.sampled_from((2, 4, 8)))
    return _write_int(data, pos, width, draw(st.sampled_from(HUGE_VALUES)))


MUTATIONS: tuple[Mutation, ...] = (
    _flip, _set_byte, _insert, _delete, _truncate, _duplicate, _splice,
    _huge_field, _huge_field, _huge_anywhere,
)  # fmt: skip


@st.composite
def mutated_seeds(
    draw: Draw, seeds: Sequence[Seed] | None = None, max_mutations: int = 4
) -> tuple[str, bytes]:
    """(file name, bytes): a seed with 1..max_mutations structure-aware mutations."""
    seed = draw(st.sampled_from(tuple(seeds) if seeds is not None else seed_corpus()))
    data = bytearray(seed.data)
    for _ in range(draw(st.integers(1, max_mutations))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data, seed)
    return seed.name, bytes(data)


@st.composite
def huge_field_seeds(draw: Draw) -> tuple[str, bytes]:
    """A seed with one or two of its real length fields set to an edge value, nothing else."""
    seed = draw(st.sampled_from([s for s in seed_corpus() if s.fields]))
    data = bytearray(seed.data)
    for _ in range(draw(st.integers(1, 2))):
        data = _huge_field(draw, data, seed)
    return seed.name, bytes(data)


# Opcode-level pickles ----------------------------------------------------------------------

_MODULE_NAMES = (
    ("os", "system"), ("builtins", "eval"), ("builtins", "getattr"), ("pickle", "loads"),
    ("base64", "b64decode"), ("zlib", "decompress"), ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"), ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "dtype"), ("copyreg", "_reconstructor"), ("__builtin__", "set"),
    ("numpy.core.multiarray", "_reconstruct"), ("x" * 300, "y"),
)  # fmt: skip


def _interesting_bytes() -> list[bytes]:
    inner = system_pickle()
    return [
        inner,
        base64.b64encode(inner),
        inner.hex().encode(),
        zlib.compress(inner),
        b"dtype",
        b"shape",
        b"V8",
        b"|O",
    ]


def _length_arg(width: int, payload: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A length-prefixed argument: the true length most of the time, an edge value otherwise."""

    @st.composite
    def build(draw: Draw) -> bytes:
        body = draw(payload)
        if draw(st.integers(0, 9)) == 0:
            length = draw(st.sampled_from(HUGE_VALUES)) & ((1 << (8 * width)) - 1)
        else:
            length = len(body) & ((1 << (8 * width)) - 1)
        return length.to_bytes(width, "little") + body

    return build()


def _arg_strategies() -> dict[str, st.SearchStrategy[bytes]]:
    raw = st.one_of(st.binary(max_size=24), st.sampled_from(_interesting_bytes()))
    text = st.one_of(
        st.text(max_size=12).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"dtype", b"shape", b"V8", b"|O", b"<f4", b"os", b"system"]),
    )
    decimal = st.one_of(
        st.integers(-5, 300).map(lambda i: str(i).encode()),
        st.sampled_from([b"00", b"01", b"9" * 5000, b"x"]),
    )
    pairs = st.sampled_from(_MODULE_NAMES).map(
        lambda p: p[0].encode() + b"\n" + p[1].encode() + b"\n"
    )
    unsigned = st.sampled_from(HUGE_VALUES) | st.integers(0, 8)
    return {
        "decimalnl_short": decimal.map(lambda d: d + b"\n"),
        "decimalnl_long": decimal.map(lambda d: d + b"L\n"),
        "int4": st.integers(-(2**31), 2**31 - 1).map(lambda i: struct.pack("<i", i)),
        "uint1": unsigned.map(lambda i: (i & 0xFF).to_bytes(1, "little")),
        "uint2": unsigned.map(lambda i: (i & 0xFFFF).to_bytes(2, "little")),
        "uint4": unsigned.map(lambda i: (i & 0xFFFF_FFFF).to_bytes(4, "little")),
        "uint8": unsigned.map(lambda i: (i & (2**64 - 1)).to_bytes(8, "little")),
        "long1": _length_arg(1, st.binary(max_size=12)),
        "long4": _length_arg(4, st.binary(max_size=12)),
        "stringnl": st.one_of(raw, text).map(lambda b: repr(b)[1:].encode("latin-1") + b"\n"),
        "string4": _length_arg(4, raw),
        "string1": _length_arg(1, raw),
        "bytes1": _length_arg(1, raw),
        "bytes4": _length_arg(4, raw),
        "bytes8": _length_arg(8, raw),
        "bytearray8": _length_arg(8, raw),
        "unicodestringnl": text.map(lambda b: b.replace(b"\n", b"") + b"\n"),
        "unicodestring1": _length_arg(1, text),
        "unicodestring4": _length_arg(4, text),
        "unicodestring8": _length_arg(8, text),
        "floatnl": st.sampled_from([b"1.5\n", b"nan\n", b"-1e400\n", b"x\n"]),
        "float8": st.floats().map(lambda f: struct.pack(">d", f)),
        "stringnl_noescape": st.sampled_from(_MODULE_NAMES).map(lambda p: p[0].encode() + b"\n"),
        "stringnl_noescape_pair": pairs,
    }


@cache
def _opcode_strategy() -> st.SearchStrategy[bytes]:
    args = _arg_strategies()
    choices: list[st.SearchStrategy[bytes]] = []
    for info in pickletools.opcodes:
        code = info.code.encode("latin-1")
        if info.arg is None:
            choices.append(st.just(code))
        else:
            choices.append(args[info.arg.name].map(lambda a, c=code: c + a))
    # Structure: weight the opcodes that shape the stack so streams get deep, not just long.
    shaping = st.sampled_from([b"(", b"t", b"R", b"b", b"\x93", b"\x85", b"\x86", b"\x94", b"0"])
    return st.one_of(shaping, *choices)


def _persistent(key: bytes) -> bytes:
    return b"(X\x07\x00\x00\x00storage" + key + b"X\x03\x00\x00\x00cpuK\x04tQ"


@cache
def _value_strategy() -> st.SearchStrategy[bytes]:
    """Fragments that push exactly one value: the interpreter runs them deep, not just once."""
    args = _arg_strategies()
    constants = st.one_of(
        st.sampled_from([b"N", b"\x88", b"\x89", b")", b"]", b"}", b"\x8f", b"K\x01"]),
        st.integers(-(2**31), 2**31 - 1).map(lambda i: b"J" + struct.pack("<i", i)),
        args["bytes4"].map(lambda a: b"B" + a),
        args["unicodestring4"].map(lambda a: b"X" + a),
        args["long1"].map(lambda a: b"\x8a" + a),
        st.sampled_from(_interesting_bytes()).map(binbytes),
        st.sampled_from(_interesting_bytes()).map(lambda b: binunicode(b.decode("latin-1"))),
    )
    names = st.sampled_from(_MODULE_NAMES)
    leaf = st.one_of(
        constants,
        names.map(lambda p: global_op(*p)),
        names.map(lambda p: binunicode(p[0]) + binunicode(p[1]) + b"\x93"),
        constants.map(_persistent),
    )

    def extend(inner: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        many = st.lists(inner, max_size=4).map(b"".join)
        pairs = st.lists(st.tuples(inner, inner).map(b"".join), max_size=3).map(b"".join)
        two = st.tuples(inner, inner).map(b"".join)
        return st.one_of(
            many.map(lambda xs: b"(" + xs + b"t"),
            many.map(lambda xs: b"](" + xs + b"e"),
            pairs.map(lambda xs: b"}(" + xs + b"u"),
            st.tuples(names, many).map(lambda p: global_op(*p[0]) + b"(" + p[1] + b"tR"),
            two.map(lambda x: x + b"R"),
            two.map(lambda x: x + b"b"),
            two.map(lambda x: x + b"\x81"),
            st.tuples(inner, many).map(lambda p: p[0] + b"(" + p[1] + b"t}\x92"),
            inner.map(lambda x: x + b"\x94"),
            inner.map(lambda x: x + b"q\x00" + b"0h\x00"),
            inner.map(lambda x: x + b"Q"),
            inner.map(lambda x: x + b"\x85"),
        )

    return st.recursive(leaf, extend, max_leaves=24)


@st.composite
def opcode_pickles(draw: Draw, max_ops: int = 40) -> bytes:
    """A pickle stream: values built from nested opcodes, and raw opcodes with fuzzed arguments.

    Most streams are stack-correct (so the interpreter reaches calls, BUILD, memo and nested
    payloads); some get a stray opcode spliced in, and some are opcode soup.
    """
    head = draw(st.sampled_from([b"", b"\x80\x02", b"\x80\x04", b"\x80\x05", b"\x80\x04\x95"]))
    if head.endswith(b"\x95"):
        head += draw(st.sampled_from(HUGE_VALUES)).to_bytes(8, "little")
    shape = draw(st.integers(0, 3))
    if shape == 0:
        body = b"".join(draw(st.lists(_opcode_strategy(), max_size=max_ops)))
    else:
        body = draw(_value_strategy())
        if shape == 1:
            cut = draw(st.integers(0, len(body)))
            body = body[:cut] + draw(_opcode_strategy()) + body[cut:]
    tail = draw(st.sampled_from([b".", b".", b".", b"", b".\x80\x02N."]))
    return head + body + tail
