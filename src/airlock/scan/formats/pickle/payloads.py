"""Recover bytes that a pickle hands to another deserializer, by evaluating pure decoders.

`pickle.loads(base64.b64decode("gASV..."))` hides a second pickle inside a string; to scan
it we evaluate the handful of side-effect-free encoding and decoding calls that wrap such
payloads. Nothing here imports or calls what the pickle names: each step is our own stdlib
call, and every output is bounded.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import lzma
import zlib
from collections.abc import Callable
from typing import Any

from airlock.scan.formats.pickle.values import Call, Global, SymList

# Callables that deserialize their (first) argument: bytes reaching them are scanned too.
DESERIALIZERS = frozenset(
    {
        "pickle.loads", "pickle.load", "pickle._loads", "pickle._load", "_pickle.loads",
        "_pickle.load", "pickle.Unpickler", "_pickle.Unpickler", "dill.loads", "dill.load",
        "dill._dill.loads", "cloudpickle.loads", "cloudpickle.load", "joblib.load",
        "joblib.numpy_pickle.load", "torch.load", "torch.serialization.load",
        "torch.storage._load_from_bytes", "numpy.load", "numpy.loads", "pandas.read_pickle",
    }
)  # fmt: skip

Value = str | bytes
_MAX_DEPTH = 16


class _CannotEvaluate(Exception):
    pass


def _inflate(data: bytes, limit: int, wbits: int) -> bytes:
    out = zlib.decompressobj(wbits).decompress(data, limit + 1)
    if len(out) > limit:
        raise _CannotEvaluate("output past the bound")
    return out


def _stream(factory: Callable[[], Any], data: bytes, limit: int) -> bytes:
    out: bytes = factory().decompress(data, max_length=limit + 1)
    if len(out) > limit:
        raise _CannotEvaluate("output past the bound")
    return out


def _binary_transforms(limit: int) -> dict[str, Callable[[bytes], bytes]]:
    """Pure bytes -> bytes functions by the name a pickle would import them under."""
    return {
        "base64.b64decode": base64.b64decode,
        "base64.standard_b64decode": base64.b64decode,
        "base64.decodebytes": base64.decodebytes,
        "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
        "base64.b32decode": base64.b32decode,
        "base64.b16decode": base64.b16decode,
        "base64.a85decode": base64.a85decode,
        "base64.b85decode": base64.b85decode,
        "binascii.a2b_base64": binascii.a2b_base64,
        "binascii.a2b_hex": binascii.unhexlify,
        "binascii.unhexlify": binascii.unhexlify,
        "builtins.bytes.fromhex": lambda d: bytes.fromhex(d.decode("ascii")),
        "zlib.decompress": lambda d: _inflate(d, limit, zlib.MAX_WBITS),
        "gzip.decompress": lambda d: _inflate(d, limit, zlib.MAX_WBITS | 16),
        "bz2.decompress": lambda d: _stream(bz2.BZ2Decompressor, d, limit),
        "lzma.decompress": lambda d: _stream(lzma.LZMADecompressor, d, limit),
        "io.BytesIO": lambda d: d,
        "_io.BytesIO": lambda d: d,
        "builtins.bytes": lambda d: d,
        "builtins.bytearray": lambda d: d,
    }


# codecs.encode/decode with a binary codec: (encode direction, decode direction).
_BINARY_CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "base64": (base64.encodebytes, base64.decodebytes),
    "hex": (binascii.hexlify, binascii.unhexlify),
    "zlib": (zlib.compress, zlib.decompress),
    "bz2": (bz2.compress, bz2.decompress),
}
_CODEC_NAMES = {
    "base64": "base64", "base_64": "base64", "base64_codec": "base64",
    "hex": "hex", "hex_codec": "hex", "zlib": "zlib", "zip": "zlib", "zlib_codec": "zlib",
    "bz2": "bz2", "bz2_codec": "bz2",
}  # fmt: skip
_TEXT_CODECS = {
    "latin1": "latin-1", "latin_1": "latin-1", "iso_8859_1": "latin-1", "iso8859_1": "latin-1",
    "l1": "latin-1", "utf_8": "utf-8", "utf8": "utf-8", "u8": "utf-8", "ascii": "ascii",
    "us_ascii": "ascii",
}  # fmt: skip
_ROT13 = {"rot13", "rot_13"}


def concrete_bytes(value: Any, limit: int) -> bytes | None:
    """The bytes `value` evaluates to, if it is a constant or a chain of pure transforms."""
    try:
        result = _evaluate(value, limit, 0)
    except (_CannotEvaluate, ValueError, TypeError, UnicodeError, zlib.error, OSError, EOFError):
        return None
    if isinstance(result, str):
        result = result.encode("latin-1", "replace")
    return result if len(result) <= limit else None


def _evaluate(value: Any, limit: int, depth: int) -> Value:
    if depth > _MAX_DEPTH:
        raise _CannotEvaluate("too deep")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value
    if isinstance(value, SymList) and all(isinstance(i, int) for i in value.items):
        return bytes(value.items)
    if not (isinstance(value, Call) and isinstance(value.func, Global)):
        raise _CannotEvaluate("not a constant")
    args = value.args if isinstance(value.args, tuple) else ()
    if not args:
        raise _CannotEvaluate("no argument")
    name = value.func.dotted
    inner = _evaluate(args[0], limit, depth + 1)
    if name in ("_codecs.encode", "codecs.encode", "_codecs.decode", "codecs.decode"):
        codec = args[1] if len(args) > 1 and isinstance(args[1], str) else "utf-8"
        return _codec(inner, codec, encode=name.endswith("encode"), limit=limit)
    transform = _binary_transforms(limit).get(name)
    if transform is None:
        raise _CannotEvaluate(f"{name} is not a pure transform")
    out = transform(inner if isinstance(inner, bytes) else inner.encode("latin-1"))
    if len(out) > limit:
        raise _CannotEvaluate("output past the bound")
    return out


def _codec(data: Value, codec: str, *, encode: bool, limit: int) -> Value:
    key = codec.lower().replace("-", "_").replace(" ", "_")
    if key in _ROT13:
        if not isinstance(data, str):
            raise _CannotEvaluate("rot13 takes text")
        return codecs.encode(data, "rot13")
    if key in _TEXT_CODECS:
        text_codec = _TEXT_CODECS[key]
        if encode:
            return data.encode(text_codec) if isinstance(data, str) else data
        return data.decode(text_codec) if isinstance(data, bytes) else data
    if key in _CODEC_NAMES:
        forward, backward = _BINARY_CODECS[_CODEC_NAMES[key]]
        raw = data if isinstance(data, bytes) else data.encode("latin-1")
        if not encode and _CODEC_NAMES[key] in ("zlib", "bz2"):
            return _binary_transforms(limit)[f"{_CODEC_NAMES[key]}.decompress"](raw)
        out = forward(raw) if encode else backward(raw)
        if len(out) > limit:
            raise _CannotEvaluate("output past the bound")
        return out
    raise _CannotEvaluate(f"codec {codec!r} is not evaluated")
