"""What unpickling these bytes from their first byte would do: import something, finish, or
fail before either.

Bytes in another format can also be a pickle stream: a tar header whose name field holds
opcodes, YAML or Python text that is a protocol-0 stream, a GGUF or safetensors header whose
first bytes are opcodes. Loaders that unpickle what they are handed (`pickle.load`,
`joblib.load`, `torch.load` once its zip and tar attempts fail, `numpy.load(allow_pickle=True)`
for anything that is not an .npy or a zip) run such a stream whatever the file's name.

Only what a stream imports can run code, so a stream is run with the unpickler's own stack rules
until it calls something it imported. An import of a name that is not a Python identifier ends
the run as a failure: the real unpickler fails there (text that only happens to decode as
opcodes usually reaches such a "name" within a line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airlock.scan.context import Buffer
from airlock.scan.formats.pickle.opcodes import FIRST_OPCODE_BYTES, PickleDecodeError, decode_raw

if TYPE_CHECKING:
    from airlock.scan.formats.pickle.values import Call, Global

_NAMED_IMPORTS = ("GLOBAL", "INST")
_OTHER_IMPORTS = ("STACK_GLOBAL", "EXT1", "EXT2", "EXT4")


@dataclass(frozen=True)
class Unpickling:
    """What the unpickler, started at byte 0, reaches before it fails (if it fails)."""

    calls: bool  # it calls something it imported (or imports a name computed while loading)
    complete: bool  # it reaches STOP (building plain data, or handing back what it imported)
    imports: bool  # it imports a well-formed name


NOTHING = Unpickling(calls=False, complete=False, imports=False)


def unpickling(data: Buffer) -> Unpickling:
    """Whether unpickling `data` from byte 0 calls what it imports, or completes."""
    if not len(data) or data[0] not in FIRST_OPCODE_BYTES:
        return NOTHING  # the first byte already makes the unpickler fail: the common case
    if _first_import_or_stop(data) is None:
        return NOTHING
    # Imported only now: detection runs on every file, and this point is rarely reached.
    from airlock.scan.formats.pickle.interpreter import Interpreter

    probe = _CallProbe()
    try:
        result = Interpreter(data, probe).run(0)
    except (_Calls, MemoryError, RecursionError):
        # Out of resources: fail closed, the pickle reader reports the limit it hits.
        return Unpickling(calls=True, complete=False, imports=True)
    except _ImportFails:
        return Unpickling(calls=False, complete=False, imports=probe.imported)
    return Unpickling(calls=False, complete=result.complete, imports=probe.imported)


def _first_import_or_stop(data: Buffer) -> str | None:
    """The first import opcode (of a well-formed name) or STOP, decoding without a stack.

    A cheap first pass: binary formats and text whose first byte happens to be an opcode
    fail here within a few bytes, without the interpreter's set-up."""
    pos = 0
    while True:
        try:
            name, arg, pos = decode_raw(data, pos)
        except PickleDecodeError:
            return None
        except MemoryError:
            return "STOP"  # an argument too large to hold: let the interpreter decide
        if name in _NAMED_IMPORTS:
            return name if _importable(arg[0]) and _importable(arg[1]) else None
        if name in _OTHER_IMPORTS or name == "STOP":
            return name


class _Calls(Exception):
    pass


class _ImportFails(Exception):
    pass


class _CallProbe:
    """A listener that ends the run at the first call of something imported, or at an import
    the real unpickler cannot make."""

    def __init__(self) -> None:
        self.imported = False

    def on_global(self, glob: Global) -> None:
        if not (_importable(glob.module) and _importable(glob.name)):
            raise _ImportFails
        self.imported = True

    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None:
        raise _Calls  # a name computed while loading: fail closed

    def on_extension(self, code: int, offset: int) -> None:
        raise _Calls  # resolved through copyreg's registry, whatever it holds at load time

    def on_call(self, call: Call) -> None:
        # Without an import nothing callable is on the stack: the unpickler fails instead.
        if self.imported:
            raise _Calls

    def on_build(self, target: Any, state: Any, offset: int) -> None:
        if self.imported:
            raise _Calls  # BUILD calls the target's __setstate__ or sets its attributes

    def on_hashed(self, keys: list[Any], offset: int) -> None:
        if self.imported:
            raise _Calls  # hashing an imported object's instance runs its __hash__

    def on_persistent(self, pid: Any, offset: int) -> None:
        pass  # pickle.load refuses persistent ids; loaders that accept them read pickles anyway

    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None:
        pass


def _importable(dotted: str) -> bool:
    return all(part.isidentifier() for part in dotted.split("."))
