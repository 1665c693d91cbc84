"""Pickles hidden as data: raw bytes, base64 or hex text that decodes to a complete pickle."""

from __future__ import annotations

import base64
import binascii
import re

from airlock.scan.formats.pickle.opcodes import Buffer, PickleDecodeError, decode_op

_BASE64 = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")
_HEX = re.compile(rb"[0-9a-fA-F]+")
MAX_VALIDATE_OPS = 1_000_000
# How each accepted form can start (protocol 2+ only: 0x80 then the protocol byte): raw, hex
# ("80"), base64 ("gA"), after white space. Most strings fail here without being copied.
_STARTS_TEXT = re.compile(r"\s*(?:\x80|80|gA)")
_STARTS_BYTES = re.compile(rb"\s*(?:\x80|80|gA)")


def embedded_pickle(value: str | bytes | bytearray, limit: int) -> tuple[bytes, str] | None:
    """(pickle bytes, encoding) if `value` is or encodes one complete pickle stream."""
    if isinstance(value, str):
        if _STARTS_TEXT.match(value) is None:
            return None
    elif _STARTS_BYTES.match(value) is None:
        return None
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
    if len(raw) > limit:
        return None
    if _is_complete_pickle(raw):
        return raw, "raw"
    text = raw.strip()
    if len(text) >= 16 and _HEX.fullmatch(text) and len(text) % 2 == 0:
        decoded = binascii.unhexlify(text)
        if _is_complete_pickle(decoded):
            return decoded, "hex"
    if len(text) >= 16 and _BASE64.fullmatch(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decode(text + b"=" * (-len(text) % 4))
            except (binascii.Error, ValueError):
                continue
            if _is_complete_pickle(decoded):
                return decoded, "base64"
    return None


def _is_complete_pickle(data: Buffer) -> bool:
    """A protocol 2+ header, opcodes that all decode, and STOP at the very end."""
    if len(data) < 4 or data[0] != 0x80 or not 2 <= data[1] <= 5:
        return False
    pos = 0
    for _ in range(MAX_VALIDATE_OPS):
        try:
            op = decode_op(data, pos)
        except PickleDecodeError:
            return False
        pos = op.end
        if op.name == "STOP":
            return len(bytes(data[pos:]).strip()) == 0
    return False
