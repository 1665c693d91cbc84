"""Remembered load refusals, so that each request to a tampered model does not re-read and
re-copy the whole model: a refusal stands while the admitted record and every admitted file's
stat (device, inode, size, type, mtime and ctime in ns) stay the same.

Only the stat is compared, never the bytes: a file rewritten in place with its times restored
still changes its ctime, which nothing but the kernel sets. A remembered refusal can only
refuse; every load that goes ahead re-hashes every byte, so this cannot let changed bytes in.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from airlock.gateway.catalog import AdmittedModel
from airlock.gateway.errors import ModelLoadRefused
from airlock.gateway.loading import source_path

FileState = tuple[tuple[int, ...] | None, ...]
_COMPARED = ("st_dev", "st_ino", "st_size", "st_mode", "st_mtime_ns", "st_ctime_ns")


def file_state(model: AdmittedModel) -> FileState:
    """The stat of each admitted file (None where it cannot be taken), links not followed."""
    return tuple(_stat(model, entry.path) for entry in model.files)


def _stat(model: AdmittedModel, relative: str) -> tuple[int, ...] | None:
    try:
        info = os.stat(source_path(model, relative), follow_symlinks=False)
    except OSError:
        return None
    return tuple(getattr(info, field) for field in _COMPARED)


@dataclass(frozen=True)
class _Refusal:
    revision: tuple[int, str]
    source: str
    state: FileState
    message: str
    code: str
    until: float  # time.monotonic(); inf: until the files or the record change


class Refusals:
    def __init__(self) -> None:
        self._by_name: dict[str, _Refusal] = {}

    def check(self, model: AdmittedModel, state: FileState) -> None:
        """Raises the refusal remembered for `model` if nothing it depends on changed."""
        refusal = self._by_name.get(model.name)
        if refusal is None:
            return
        same = (model.revision, str(model.source), state) == (
            refusal.revision,
            refusal.source,
            refusal.state,
        )
        if not same or time.monotonic() > refusal.until:
            del self._by_name[model.name]
            return
        raise ModelLoadRefused(refusal.message, code=refusal.code)

    def remember(
        self,
        model: AdmittedModel,
        state: FileState,
        error: ModelLoadRefused,
        for_s: float = float("inf"),
    ) -> None:
        """Refuse `model` with `error` while its files and record stay as `state` found them,
        and for at most `for_s` seconds."""
        self._by_name[model.name] = _Refusal(
            model.revision,
            str(model.source),
            state,
            error.message,
            error.code or "model_load_failed",
            time.monotonic() + for_s,
        )
