"""The names a serialized Python function uses, read from its bytes without running it.

Keras stores Lambda functions as base64 of `marshal.dumps(code)`. Unmarshalling would build a
live code object, so instead the marshal stream is scanned for its string records (co_names,
co_consts, co_varnames): marshal's string tags are stable across CPython 3.x even though the
code-object layout is not. Source text (older configs) is tokenised for identifiers instead.
"""

from __future__ import annotations

import base64
import binascii
import re

# Calls and modules that run commands, evaluate code, import, or touch files and the network.
DANGEROUS_NAMES = frozenset(
    {
        "os", "posix", "nt", "system", "popen", "Popen", "subprocess", "check_output",
        "check_call", "getoutput", "getstatusoutput", "spawnl", "spawnv", "spawnve", "spawnlp",
        "execv", "execve", "execl", "execlp", "execvp", "fork", "forkpty", "pty", "eval",
        "exec", "compile", "__import__", "import_module", "importlib", "builtins",
        "__builtins__", "open", "socket", "urllib", "urlopen", "requests", "http", "shutil",
        "rmtree", "ctypes", "pickle", "marshal", "getattr", "setattr", "delattr", "globals",
        "breakpoint", "webbrowser", "sys", "runpy",
    }
)  # fmt: skip

# marshal string tags (TYPE_STRING is bytes, e.g. co_code, so it is left out), by the width of
# their length field; the 0x80 bit (FLAG_REF) is masked off.
_STRING_TAGS = {ord("z"): 1, ord("Z"): 1, ord("a"): 4, ord("A"): 4, ord("u"): 4, ord("t"): 4}
_CODE_TAG = ord("c")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_NAME = 256
_MAX_CODE_BYTES = 16 * 1024 * 1024


def code_names(value: str) -> list[str] | None:
    """Names in a base64 marshalled code object, or in Python source; None for neither."""
    packed = "".join(value.split())
    if packed and len(packed) % 4 == 0 and len(packed) <= _MAX_CODE_BYTES:
        try:
            raw = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if raw and raw[0] & 0x7F == _CODE_TAG:
            return marshal_names(raw)
    if "lambda" in value or "(" in value:
        return _unique(_NAME.findall(value))
    return None


def marshal_names(raw: bytes) -> list[str]:
    """Identifier-like strings in a marshal stream, in order of first appearance."""
    names: list[str] = []
    pos = 0
    while pos < len(raw):
        width = _STRING_TAGS.get(raw[pos] & 0x7F)
        if width is not None:
            start = pos + 1 + width
            length = int.from_bytes(raw[pos + 1 : start], "little")
            candidate = raw[start : start + length]
            if 0 < length <= _MAX_NAME and len(candidate) == length:
                word = candidate.decode("latin-1")
                if _NAME.fullmatch(word):
                    names.append(word)
                    pos = start + length
                    continue
        pos += 1
    return _unique(names)


def dangerous(names: list[str]) -> list[str]:
    """The names that are, or whose dotted parts are, on the dangerous list."""
    return [name for name in names if DANGEROUS_NAMES.intersection(name.split("."))]


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))
