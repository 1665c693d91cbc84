"""Recover bytes that a pickle hands to another deserializer, by evaluating pure decoders.

`pickle.loads(base64.b64decode("gASV..."))` hides a second pickle inside a string; to scan
it we evaluate the handful of side-effect-free decoding calls that wrap such payloads.
Nothing here imports or calls what the pickle names: each decoder is our own stdlib call.
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

from airlock.formats.pickle.values import Call, Global, SymList

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


class _TooLarge(Exception):
    pass


def _bounded(fn: Callable[[bytes], bytes], limit: int) -> Callable[[bytes], bytes]:
    def run(data: bytes) -> bytes:
        out = fn(data)
        if len(out) > limit:
            raise _TooLarge
        return out

    return run


def _inflate(data: bytes, limit: int, wbits: int) -> bytes:
    out = zlib.decompressobj(wbits).decompress(data, limit + 1)
    if len(out) > limit:
        raise _TooLarge
    return out


def _stream_decompress(factory: Callable[[], Any], data: bytes, limit: int) -> bytes:
    obj = factory()
    out: bytes = obj.decompress(data, max_length=limit + 1)
    if len(out) > limit:
        raise _TooLarge
    return out


def _decoders(limit: int) -> dict[str, Callable[[bytes], bytes]]:
    b64 = _bounded(base64.b64decode, limit)
    unhex = _bounded(binascii.unhexlify, limit)
    return {
        "base64.b64decode": b64,
        "base64.standard_b64decode": b64,
        "base64.decodebytes": b64,
        "base64.urlsafe_b64decode": _bounded(base64.urlsafe_b64decode, limit),
        "base64.b32decode": _bounded(base64.b32decode, limit),
        "base64.b16decode": _bounded(base64.b16decode, limit),
        "base64.a85decode": _bounded(base64.a85decode, limit),
        "base64.b85decode": _bounded(base64.b85decode, limit),
        "binascii.a2b_base64": b64,
        "binascii.a2b_hex": unhex,
        "binascii.unhexlify": unhex,
        "builtins.bytes.fromhex": _bounded(bytes.fromhex, limit),  # type: ignore[arg-type]
        "zlib.decompress": lambda d: _inflate(d, limit, zlib.MAX_WBITS),
        "gzip.decompress": lambda d: _inflate(d, limit, zlib.MAX_WBITS | 16),
        "bz2.decompress": lambda d: _stream_decompress(bz2.BZ2Decompressor, d, limit),
        "lzma.decompress": lambda d: _stream_decompress(lzma.LZMADecompressor, d, limit),
        "io.BytesIO": lambda d: d,
        "_io.BytesIO": lambda d: d,
        "builtins.bytes": lambda d: d,
        "builtins.bytearray": lambda d: d,
    }


_CODEC_ALIASES = {
    "base64": "base64.b64decode", "base_64": "base64.b64decode", "base64_codec": "base64.b64decode",
    "hex": "binascii.unhexlify", "hex_codec": "binascii.unhexlify",
    "zlib": "zlib.decompress", "zip": "zlib.decompress", "zlib_codec": "zlib.decompress",
    "bz2": "bz2.decompress", "bz2_codec": "bz2.decompress",
}  # fmt: skip


# Text codecs evaluated by name; others are not looked up (a lookup can import modules).
_TEXT_CODECS = frozenset({"latin1", "latin-1", "iso-8859-1", "utf-8", "utf8", "ascii"})


def concrete_bytes(value: Any, limit: int, depth: int = 0) -> bytes | None:
    """The bytes `value` evaluates to, if it is a constant or a chain of pure decoders."""
    if depth > 16:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value[: limit + 1]) if len(value) <= limit else None
    if isinstance(value, str):
        return _text_bytes(value)
    if isinstance(value, SymList) and all(isinstance(i, int) for i in value.items):
        try:
            return bytes(value.items)
        except ValueError:
            return None
    if not (isinstance(value, Call) and isinstance(value.func, Global)):
        return None
    args = value.args if isinstance(value.args, tuple) else ()
    if not args:
        return None
    name = value.func.dotted
    if name in ("_codecs.encode", "codecs.encode", "codecs.decode", "_codecs.decode"):
        return _codec_call(name, args, limit, depth)
    decoder = _decoders(limit).get(name)
    if decoder is None:
        return None
    inner = concrete_bytes(args[0], limit, depth + 1)
    if inner is None:
        return None
    try:
        return decoder(inner)
    except (ValueError, TypeError, zlib.error, OSError, EOFError, lzma.LZMAError, _TooLarge):
        return None


def _text_bytes(text: str) -> bytes | None:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _codec_call(name: str, args: tuple[Any, ...], limit: int, depth: int) -> bytes | None:
    codec = args[1] if len(args) > 1 and isinstance(args[1], str) else "utf-8"
    inner = concrete_bytes(args[0], limit, depth + 1)
    if inner is None:
        return None
    alias = _CODEC_ALIASES.get(codec.lower().replace("-", "_"))
    if alias is not None:
        try:
            return _decoders(limit)[alias](inner)
        except (ValueError, TypeError, zlib.error, OSError, _TooLarge):
            return None
    text_codec = codec.lower().replace("_", "-")
    if name.endswith("encode") and isinstance(args[0], str) and text_codec in _TEXT_CODECS:
        try:
            return codecs.encode(args[0], text_codec)
        except UnicodeError:
            return None
    return inner
