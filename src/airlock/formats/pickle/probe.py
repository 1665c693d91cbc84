"""Would unpickling these bytes, from their first byte, import anything?

Bytes in another format can also be a pickle stream: a tar header whose name field holds
opcodes, YAML or Python text that is a protocol-0 stream, a GGUF or safetensors header whose
first bytes are opcodes. Loaders that unpickle what they are handed (`pickle.load`,
`joblib.load`, `torch.load` once its zip and tar attempts fail, `numpy.load(allow_pickle=True)`
for anything that is not an .npy or a zip) run such a stream whatever the file's name.

A stream that imports nothing cannot run code, so only an import counts: the interpreter runs
the stream with the unpickler's own stack rules and stops at the first import. An import of a
name that is not a Python identifier ends the probe with "no": the real unpickler fails there
(text that only happens to decode as opcodes usually reaches such a "name" within a line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airlock.formats.interface import Buffer
from airlock.formats.pickle.opcodes import FIRST_OPCODE_BYTES, PickleDecodeError, decode_raw

if TYPE_CHECKING:
    from airlock.formats.pickle.values import Call, Global


class _Imports(Exception):
    pass


class _ImportFails(Exception):
    pass


class _ImportProbe:
    """A listener that ends the run at the first import, with its verdict."""

    def on_global(self, glob: Global) -> None:
        if _importable(glob.module) and _importable(glob.name):
            raise _Imports
        raise _ImportFails

    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None:
        raise _Imports  # a name computed while loading: fail closed

    def on_extension(self, code: int, offset: int) -> None:
        raise _Imports  # resolved through copyreg's registry, whatever it holds at load time

    def on_call(self, call: Call) -> None:
        pass

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        pass

    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None:
        pass


_NAMED_IMPORTS = ("GLOBAL", "INST")
_OTHER_IMPORTS = ("STACK_GLOBAL", "EXT1", "EXT2", "EXT4")


def imports_when_unpickled(data: Buffer) -> bool:
    """True when unpickling `data` from byte 0 reaches an import of a well-formed name."""
    if not len(data) or data[0] not in FIRST_OPCODE_BYTES:
        return False  # the first byte already makes the unpickler fail: the common case
    if not _import_opcode_ahead(data):
        return False
    # Imported only now: detection runs on every file, and this point is rarely reached.
    from airlock.formats.pickle.interpreter import Interpreter

    try:
        Interpreter(data, _ImportProbe()).run(0)
    except _Imports:
        return True
    except _ImportFails:
        return False
    return False


def _import_opcode_ahead(data: Buffer) -> bool:
    """Opcodes decode (stack aside) up to an import of a well-formed name.

    A cheap first pass: binary formats and text whose first byte happens to be an opcode
    fail here within a few bytes, without the interpreter's set-up."""
    pos = 0
    while True:
        try:
            name, arg, pos = decode_raw(data, pos)
        except PickleDecodeError:
            return False
        if name in _NAMED_IMPORTS:
            return _importable(arg[0]) and _importable(arg[1])
        if name in _OTHER_IMPORTS:
            return True
        if name == "STOP":
            return False


def _importable(dotted: str) -> bool:
    return all(part.isidentifier() for part in dotted.split("."))
