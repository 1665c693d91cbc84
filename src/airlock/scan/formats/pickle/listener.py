"""What the symbolic interpreter tells and returns: the `Listener` it reports every import,
call, BUILD and hashed key to (analysis.py judges them), the `StreamResult` of one stream, the
`UNKNOWN` value it pushes for what it cannot know, and the Python 2 name mapping the real
unpickler applies to old protocols."""

from __future__ import annotations

import _compat_pickle
from dataclasses import dataclass
from typing import Any, Protocol

from airlock.scan.formats.pickle.opcodes import PickleDecodeError
from airlock.scan.formats.pickle.values import Call, Global

UNKNOWN = object()


class Listener(Protocol):
    def on_global(self, glob: Global) -> None: ...
    def on_dynamic_import(self, module: Any, name: Any, offset: int) -> None: ...
    def on_call(self, call: Call) -> None: ...
    def on_build(self, target: Any, state: Any, offset: int) -> None: ...
    def on_extension(self, code: int, offset: int) -> None: ...
    def on_constant(self, value: str | bytes | bytearray, offset: int) -> None: ...
    def on_hashed(self, keys: list[Any], offset: int) -> None: ...
    def on_persistent(self, pid: Any, offset: int) -> None: ...


@dataclass(frozen=True)
class StreamResult:
    """What one pickle stream did: where it started and ended, and whether it reached STOP."""

    start: int
    end: int
    protocol: int
    complete: bool
    error: PickleDecodeError | None
    result: Any = None


def canonical_global(module: str, name: str, protocol: int) -> tuple[str, str]:
    """Apply the Python 2 name mapping the real unpickler applies to protocol < 3 streams."""
    if protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        if module in _compat_pickle.IMPORT_MAPPING:
            return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name
